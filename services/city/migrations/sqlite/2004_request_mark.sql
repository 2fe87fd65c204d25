-- The centre's mark on a request: unreasonable (Art. 9) or malicious
-- (Art. 37), with its reason; empty when unmarked.
ALTER TABLE orders ADD COLUMN request_mark TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN mark_reason TEXT NOT NULL DEFAULT '';
