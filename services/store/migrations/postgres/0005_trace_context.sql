-- Trace context (W3C traceparent and allow-listed baggage) kept with the
-- work that outlives a call: an outbox row continues the trace of the call
-- that queued it, a timer the trace of the call that armed it, and an
-- order (and each assignment) keeps the trace it was received in.
ALTER TABLE outbox ADD COLUMN trace_parent TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN baggage TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN handoff TEXT NOT NULL DEFAULT '';
ALTER TABLE timers ADD COLUMN trace_parent TEXT NOT NULL DEFAULT '';
ALTER TABLE timers ADD COLUMN baggage TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN trace_parent TEXT NOT NULL DEFAULT '';
ALTER TABLE assignments ADD COLUMN trace_parent TEXT NOT NULL DEFAULT '';
