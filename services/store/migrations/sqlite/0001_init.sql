CREATE TABLE idempotency (
    scope TEXT NOT NULL,
    request_id TEXT NOT NULL,
    response BLOB NOT NULL,
    created_us BIGINT NOT NULL,
    PRIMARY KEY (scope, request_id)
);
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL UNIQUE,
    from_unit TEXT NOT NULL,
    target_unit TEXT NOT NULL,
    method TEXT NOT NULL,
    payload BLOB NOT NULL,
    created_us BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_us BIGINT NOT NULL,
    last_error TEXT
);
CREATE TABLE dead_letters (
    message_id TEXT PRIMARY KEY,
    from_unit TEXT NOT NULL,
    target_unit TEXT NOT NULL,
    method TEXT NOT NULL,
    payload BLOB NOT NULL,
    created_us BIGINT NOT NULL,
    parked_us BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    code TEXT NOT NULL,
    error TEXT NOT NULL
);
CREATE TABLE requesters (
    requester_ref TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    phone TEXT NOT NULL,
    created_us BIGINT NOT NULL
);
CREATE TABLE orders (
    order_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    kind TEXT NOT NULL,
    channel TEXT NOT NULL,
    category_code TEXT NOT NULL,
    urgency TEXT NOT NULL,
    catalogue_version TEXT NOT NULL,
    address TEXT NOT NULL,
    body TEXT NOT NULL,
    requester_ref TEXT NOT NULL,
    territory_unit TEXT NOT NULL,
    received_us BIGINT NOT NULL,
    due_us BIGINT NOT NULL,
    answer TEXT NOT NULL,
    seq BIGINT NOT NULL,
    reopen_count BIGINT NOT NULL,
    callback_resolved BIGINT,
    callback_satisfaction TEXT,
    callback_us BIGINT,
    closed_us BIGINT
);
CREATE INDEX orders_state ON orders (state, order_id);
CREATE TABLE history (
    order_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    time_us BIGINT NOT NULL,
    actor_unit TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL,
    PRIMARY KEY (order_id, seq)
);
CREATE TABLE assignments (
    order_id TEXT NOT NULL,
    unit_id TEXT NOT NULL,
    role TEXT NOT NULL,
    state TEXT NOT NULL,
    epoch BIGINT NOT NULL,
    order_seq BIGINT NOT NULL,
    dispatched_us BIGINT NOT NULL,
    accepted_us BIGINT,
    contacted_us BIGINT,
    replied_us BIGINT,
    due_us BIGINT NOT NULL,
    outcome TEXT,
    reply_text TEXT NOT NULL,
    progress_note TEXT NOT NULL,
    category_code TEXT NOT NULL,
    urgency TEXT NOT NULL,
    address TEXT NOT NULL,
    body TEXT NOT NULL,
    requester_ref TEXT NOT NULL,
    kind TEXT NOT NULL,
    PRIMARY KEY (order_id, unit_id)
);
CREATE INDEX assignments_unit ON assignments (unit_id, state, order_id);
CREATE TABLE contacts (
    contact_id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,
    unit_id TEXT NOT NULL,
    epoch BIGINT NOT NULL,
    time_us BIGINT NOT NULL,
    purpose TEXT NOT NULL
);
CREATE TABLE coordinations (
    coordination_id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,
    from_unit TEXT NOT NULL,
    to_unit TEXT NOT NULL,
    reason TEXT NOT NULL,
    time_us BIGINT NOT NULL
);
