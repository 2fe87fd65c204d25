-- Reliability: the deliverer reads only what is due, skipping the lanes
-- (target unit and order) whose head is backing off; this index finds a
-- message's earlier lane-mates.
CREATE INDEX outbox_lane ON outbox (target_unit, order_id, id);
