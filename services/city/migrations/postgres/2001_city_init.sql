-- The centre's tables, only in the city service's database: requesters
-- and their credentials, the order record and its history, contacts,
-- callbacks and whistle parties for assessment, proactive tasks, the
-- audit log and the knowledge base. Squashed from the shared schema's
-- steps 0001-0011; versions 2000-2999 are the city's.
CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE requesters (
    requester_ref TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    phone TEXT NOT NULL,
    created_us BIGINT NOT NULL
);
-- Orders submitted with a location carry the point, the community that
-- owns it, and the units within the near-boundary distance
-- (space-separated). A proactive task is an order of kind proactive_task.
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
    closed_us BIGINT,
    latitude DOUBLE PRECISION,
    longitude DOUBLE PRECISION,
    community_unit TEXT NOT NULL DEFAULT '',
    near_boundary_units TEXT NOT NULL DEFAULT '',
    disposition TEXT NOT NULL DEFAULT '',
    duplicate_of TEXT NOT NULL DEFAULT '',
    redirect_count BIGINT NOT NULL DEFAULT 0,
    bounce_limit_reached BIGINT NOT NULL DEFAULT 0,
    designated_unit TEXT NOT NULL DEFAULT '',
    overdue BIGINT NOT NULL DEFAULT 0,
    urge_count BIGINT NOT NULL DEFAULT 0,
    trace_parent TEXT NOT NULL DEFAULT '',
    mood TEXT NOT NULL DEFAULT ''
);
CREATE INDEX orders_state ON orders (state, order_id);
CREATE INDEX orders_requester ON orders (requester_ref, received_us);
-- Analytics read the record by time window.
CREATE INDEX orders_received ON orders (received_us);
CREATE TABLE history (
    order_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    time_us BIGINT NOT NULL,
    actor_unit TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL,
    PRIMARY KEY (order_id, seq)
);
CREATE TABLE contacts (
    contact_id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,
    unit_id TEXT NOT NULL,
    epoch BIGINT NOT NULL,
    time_us BIGINT NOT NULL,
    purpose TEXT NOT NULL
);
-- Assessment (Art. 32): every callback an order had (a reopened order is
-- called back more than once and counts once per callback), and the units
-- a whistle makes answerable for an order (Art. 33): the township that
-- whistled and each department it summoned, with the check-in deadline.
CREATE TABLE callbacks (
    order_id TEXT NOT NULL,
    n BIGINT NOT NULL,
    resolved BIGINT NOT NULL,
    satisfaction TEXT NOT NULL,
    time_us BIGINT NOT NULL,
    PRIMARY KEY (order_id, n)
);
CREATE INDEX callbacks_time ON callbacks (time_us);
CREATE TABLE whistle_parties (
    whistle_id TEXT NOT NULL,
    unit_id TEXT NOT NULL,
    order_id TEXT NOT NULL,
    basis TEXT NOT NULL,
    time_us BIGINT NOT NULL,
    due_us BIGINT,
    checked_in_us BIGINT,
    PRIMARY KEY (whistle_id, unit_id)
);
CREATE INDEX whistle_parties_time ON whistle_parties (time_us);
CREATE INDEX whistle_parties_order ON whistle_parties (order_id);
-- Proactive governance (未诉先办): each task's issuer and area.
CREATE TABLE proactive_tasks (
    order_id TEXT PRIMARY KEY,
    issuer_unit TEXT NOT NULL,
    area_unit TEXT NOT NULL,
    created_us BIGINT NOT NULL
);
-- Reads of requester identity; `actor` is the proven holder (an
-- operator's certificate for an unmask) beside the unit it acted for.
CREATE TABLE audit_log (
    audit_id TEXT PRIMARY KEY,
    actor_unit TEXT NOT NULL,
    order_id TEXT NOT NULL,
    time_us BIGINT NOT NULL,
    access TEXT NOT NULL,
    reason TEXT NOT NULL,
    justification TEXT NOT NULL,
    actor TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_order ON audit_log (order_id);
CREATE TABLE knowledge_entries (
    entry_id TEXT PRIMARY KEY,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    category_codes TEXT NOT NULL,
    tokens TEXT NOT NULL,
    valid_from_us BIGINT NOT NULL,
    valid_to_us BIGINT,
    owner_unit TEXT NOT NULL,
    updated_us BIGINT NOT NULL
);
CREATE TABLE knowledge_answers (
    order_id TEXT PRIMARY KEY,
    entry_id TEXT NOT NULL,
    time_us BIGINT NOT NULL
);
-- A requester credential is random, kept only as its SHA-256, bound to
-- one order, expiring and revocable.
CREATE TABLE requester_tokens (
    token_hash TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,
    created_us BIGINT NOT NULL,
    expires_us BIGINT NOT NULL,
    revoked_us BIGINT
);
CREATE INDEX requester_tokens_order ON requester_tokens (order_id);
