-- A handling unit's tables, only in the databases of services that host
-- handling units: the parts co-handlers report to their lead, notices,
-- whistles and their summonses (kept by the district), and the inbox
-- event log behind WatchAssignments. Squashed from the shared schema's
-- steps 0001-0011; versions 3000-3999 are the handler's.
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
