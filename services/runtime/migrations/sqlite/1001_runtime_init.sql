-- The runtime's tables, in every service's database: request-id replay,
-- counters, the outbox and its dead letters, handoff measurements, timers,
-- and the records both the centre and the handling units keep (an
-- assignment, an objection, a coordination request). Squashed from the
-- shared schema's steps 0001-0011; versions 1000-1999 are the runtime's.
CREATE TABLE idempotency (
    scope TEXT NOT NULL,
    request_id TEXT NOT NULL,
    response BLOB NOT NULL,
    created_us BIGINT NOT NULL,
    fingerprint BLOB,
    PRIMARY KEY (scope, request_id)
);
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
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
    last_error TEXT,
    order_id TEXT NOT NULL DEFAULT '',
    trace_parent TEXT NOT NULL DEFAULT '',
    baggage TEXT NOT NULL DEFAULT '',
    handoff TEXT NOT NULL DEFAULT ''
);
-- The deliverer skips lanes (target unit and order) whose head is backing
-- off; this index finds a message's earlier lane-mates.
CREATE INDEX outbox_lane ON outbox (target_unit, order_id, id);
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
    fired_us BIGINT,
    trace_parent TEXT NOT NULL DEFAULT '',
    baggage TEXT NOT NULL DEFAULT ''
);
CREATE INDEX timers_due ON timers (state, due_us);
CREATE INDEX timers_order ON timers (order_id, state);
-- The centre keeps every unit's assignment on its orders; a handling
-- unit keeps its own: one shape, so one table, the runtime's.
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
    designated BIGINT NOT NULL DEFAULT 0,
    lead_unit TEXT NOT NULL DEFAULT '',
    requested_due_us BIGINT,
    extensions BIGINT NOT NULL DEFAULT 0,
    trace_parent TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (order_id, unit_id)
);
CREATE INDEX assignments_unit ON assignments (unit_id, state, order_id);
CREATE INDEX assignments_dispatched ON assignments (dispatched_us);
-- Objections: the centre's record, and the copy a district gets when the
-- centre refers one to it.
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
CREATE INDEX objections_unit ON objections (unit_id, objected_us);
-- Coordination requests, kept by the unit asked: a district, an industry
-- authority or the centre.
CREATE TABLE coordinations (
    coordination_id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,
    from_unit TEXT NOT NULL,
    to_unit TEXT NOT NULL,
    reason TEXT NOT NULL,
    time_us BIGINT NOT NULL,
    answer TEXT NOT NULL DEFAULT '',
    answered_us BIGINT
);
