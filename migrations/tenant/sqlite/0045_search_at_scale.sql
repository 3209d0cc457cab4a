-- Search at scale: PostgreSQL's message_search gains its filter columns and
-- a bigram index (postgres/0045). SQLite's FTS5 index needs neither: it is
-- joined by rowid, and a tenant on SQLite is not a million-message tenant.
SELECT 1;
