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
CREATE INDEX assignments_dispatched ON assignments (dispatched_us);
CREATE INDEX objections_unit ON objections (unit_id, objected_us);
