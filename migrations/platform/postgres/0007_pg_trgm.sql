-- Search uses pg_trgm (a contrib module, "trusted" since PostgreSQL 13, so a
-- database owner may install it). An extension is installed once per
-- database, whichever platform schema gets here first; a server that does
-- not have the module, or a role that may not install it, leaves search to
-- scan (tenant migration 0016 checks pg_extension). Concurrent first starts
-- may race to create it: the loser's error is caught here.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm not installed (%): search will scan', SQLERRM;
END $$;
