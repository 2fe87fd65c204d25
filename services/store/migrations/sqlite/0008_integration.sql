-- Integration (issue 8): a handler's inbox event log for WatchAssignments,
-- the city's audit log of requester identity reads, and the knowledge base.
CREATE TABLE inbox_events (
    event_id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL UNIQUE,
    unit_id TEXT NOT NULL,
    order_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    epoch BIGINT NOT NULL,
    time_us BIGINT NOT NULL,
    detail TEXT NOT NULL,
    notice_id TEXT NOT NULL
);
CREATE INDEX inbox_events_unit ON inbox_events (unit_id, event_id);
CREATE INDEX inbox_events_time ON inbox_events (time_us);
CREATE TABLE inbox_horizon (
    unit_id TEXT PRIMARY KEY,
    pruned_through BIGINT NOT NULL
);
CREATE TABLE audit_log (
    audit_id TEXT PRIMARY KEY,
    actor_unit TEXT NOT NULL,
    order_id TEXT NOT NULL,
    time_us BIGINT NOT NULL,
    access TEXT NOT NULL,
    reason TEXT NOT NULL,
    justification TEXT NOT NULL
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
