-- A deadline that ran into a year the working-day calendar does not cover
-- (counted Monday to Friday) is provisional until that year is published.
ALTER TABLE orders ADD COLUMN deadline_provisional BIGINT NOT NULL DEFAULT 0;
