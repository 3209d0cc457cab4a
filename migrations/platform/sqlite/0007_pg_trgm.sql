-- Kept in step with PostgreSQL's 0007 (pg_trgm for search); SQLite's search
-- index is FTS5, created per tenant by tenant migration 0016.
SELECT 1;
