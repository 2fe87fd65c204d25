-- A lead's earlier rounds of a reopened order, as they stood when the
-- reopen began the next: each round keeps its own response assessment.
CREATE TABLE reopened_rounds (
    order_id TEXT NOT NULL,
    unit_id TEXT NOT NULL,
    epoch BIGINT NOT NULL,
    urgency TEXT NOT NULL,
    dispatched_us BIGINT NOT NULL,
    accepted_us BIGINT,
    contacted_us BIGINT,
    due_us BIGINT NOT NULL,
    replied_us BIGINT,
    PRIMARY KEY (order_id, unit_id, epoch)
);
CREATE INDEX reopened_rounds_dispatched ON reopened_rounds (dispatched_us);
