-- Jurisdiction and its disputes: intake dispositions, the bounce count,
-- designated handlers, who a co-handler reports to, objections and the
-- parts co-handlers report back to their lead.
ALTER TABLE orders ADD COLUMN disposition TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN duplicate_of TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN redirect_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN bounce_limit_reached BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN designated_unit TEXT NOT NULL DEFAULT '';
CREATE INDEX orders_requester ON orders (requester_ref, received_us);
ALTER TABLE assignments ADD COLUMN designated BIGINT NOT NULL DEFAULT 0;
ALTER TABLE assignments ADD COLUMN lead_unit TEXT NOT NULL DEFAULT '';
CREATE TABLE objections (
    objection_id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,
    unit_id TEXT NOT NULL,
    epoch BIGINT NOT NULL,
    role TEXT NOT NULL,
    reason TEXT NOT NULL,
    proposed_unit TEXT NOT NULL,
    objected_us BIGINT NOT NULL,
    authority_unit TEXT NOT NULL,
    ruling_due_us BIGINT NOT NULL,
    state TEXT NOT NULL,
    ruling TEXT,
    ruling_unit TEXT NOT NULL,
    ruled_by TEXT NOT NULL,
    ruled_us BIGINT,
    ruling_note TEXT NOT NULL
);
CREATE INDEX objections_order ON objections (order_id, objection_id);
CREATE TABLE part_reports (
    order_id TEXT NOT NULL,
    lead_unit TEXT NOT NULL,
    unit_id TEXT NOT NULL,
    epoch BIGINT NOT NULL,
    role TEXT NOT NULL,
    outcome TEXT NOT NULL,
    body TEXT NOT NULL,
    time_us BIGINT NOT NULL,
    PRIMARY KEY (order_id, lead_unit, unit_id, epoch)
);
