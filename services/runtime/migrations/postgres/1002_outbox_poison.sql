-- Issue 19: a message retried past its caps is parked as poison, and a
-- parked message can be put back. The outbox remembers when its message
-- first failed (wall clock, for the age cap); a dead letter keeps what a
-- replay needs to queue it again, and why it was parked.
ALTER TABLE outbox ADD COLUMN first_failed_us BIGINT;
-- When the message was queued, wall clock: how far behind the deliverer
-- is, whatever the business clock (virtual in simulations) says.
ALTER TABLE outbox ADD COLUMN queued_wall_us BIGINT NOT NULL DEFAULT 0;
ALTER TABLE dead_letters ADD COLUMN order_id TEXT NOT NULL DEFAULT '';
ALTER TABLE dead_letters ADD COLUMN trace_parent TEXT NOT NULL DEFAULT '';
ALTER TABLE dead_letters ADD COLUMN baggage TEXT NOT NULL DEFAULT '';
ALTER TABLE dead_letters ADD COLUMN handoff TEXT NOT NULL DEFAULT '';
ALTER TABLE dead_letters ADD COLUMN reason TEXT NOT NULL DEFAULT 'refused';
