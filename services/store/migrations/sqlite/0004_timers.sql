CREATE TABLE timers (
    timer_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    order_id TEXT NOT NULL,
    unit_id TEXT NOT NULL,
    epoch BIGINT NOT NULL,
    due_us BIGINT NOT NULL,
    state TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_us BIGINT NOT NULL,
    fired_us BIGINT
);
CREATE INDEX timers_due ON timers (state, due_us);
CREATE INDEX timers_order ON timers (order_id, state);
CREATE TABLE notices (
    notice_id TEXT PRIMARY KEY,
    unit_id TEXT NOT NULL,
    order_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    from_unit TEXT NOT NULL,
    time_us BIGINT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX notices_unit ON notices (unit_id, notice_id);
CREATE TABLE handoffs (
    message_id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,
    from_unit TEXT NOT NULL,
    target_unit TEXT NOT NULL,
    method TEXT NOT NULL,
    created_us BIGINT NOT NULL,
    delivered_wall_us BIGINT NOT NULL,
    rpc_us BIGINT NOT NULL,
    attempts BIGINT NOT NULL
);
CREATE INDEX handoffs_order ON handoffs (order_id);
CREATE TABLE whistles (
    whistle_id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,
    from_unit TEXT NOT NULL,
    district_unit TEXT NOT NULL,
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    time_us BIGINT NOT NULL
);
CREATE TABLE summons (
    whistle_id TEXT NOT NULL,
    department TEXT NOT NULL,
    due_us BIGINT NOT NULL,
    state TEXT NOT NULL,
    checked_in_us BIGINT,
    PRIMARY KEY (whistle_id, department)
);
ALTER TABLE outbox ADD COLUMN order_id TEXT NOT NULL DEFAULT '';
ALTER TABLE coordinations ADD COLUMN answer TEXT NOT NULL DEFAULT '';
ALTER TABLE coordinations ADD COLUMN answered_us BIGINT;
ALTER TABLE orders ADD COLUMN overdue BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN urge_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE assignments ADD COLUMN requested_due_us BIGINT;
ALTER TABLE assignments ADD COLUMN extensions BIGINT NOT NULL DEFAULT 0;
