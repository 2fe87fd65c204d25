-- Each knowledge entry's catalogue items, one row each, so that intake's
-- consultation finds the entries of one item by key instead of matching
-- every entry's item list with LIKE (a scan of the whole base per
-- consultation). `knowledge_entries.category_codes` stays the record;
-- these rows follow it, written with it.
CREATE TABLE knowledge_categories (
    category_code TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    PRIMARY KEY (category_code, entry_id)
);
CREATE INDEX knowledge_categories_entry ON knowledge_categories (entry_id);
-- The entries already kept: their space-separated items, split.
INSERT INTO knowledge_categories (category_code, entry_id)
WITH RECURSIVE split (entry_id, code, rest) AS (
    SELECT entry_id, '', category_codes || ' ' FROM knowledge_entries
    UNION ALL
    SELECT entry_id, substr(rest, 1, instr(rest, ' ') - 1), substr(rest, instr(rest, ' ') + 1)
    FROM split WHERE rest <> ''
)
SELECT DISTINCT code, entry_id FROM split WHERE code <> '';
