-- Proactive governance (未诉先办): the requester's mood as intake heard it,
-- and each proactive task's issuer and area. A task is an order of kind
-- proactive_task; this table says who sent it where.
ALTER TABLE orders ADD COLUMN mood TEXT NOT NULL DEFAULT '';
CREATE TABLE proactive_tasks (
    order_id TEXT PRIMARY KEY,
    issuer_unit TEXT NOT NULL,
    area_unit TEXT NOT NULL,
    created_us BIGINT NOT NULL
);
-- Analytics read the record by time window.
CREATE INDEX orders_received ON orders (received_us);
