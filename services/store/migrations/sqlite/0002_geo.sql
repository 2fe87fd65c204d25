-- Orders submitted with a location: the point, the community that owns
-- it, and the units within the near-boundary distance (space-separated).
ALTER TABLE orders ADD COLUMN latitude REAL;
ALTER TABLE orders ADD COLUMN longitude REAL;
ALTER TABLE orders ADD COLUMN community_unit TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN near_boundary_units TEXT NOT NULL DEFAULT '';
