-- Search (issue 10 part 4): substring search over message text and
-- contacts, Chinese included. pg_trgm's GIN indexes answer ILIKE '%…%' for
-- patterns of three characters or more (CJK characters make trigrams too);
-- shorter ones are a scan of the tenant's rows. The platform migration
-- installs pg_trgm when the server lets it; without it these indexes are
-- left out and search still answers, only by scanning.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        -- fastupdate (the default) keeps new entries in a pending list that is
        -- merged in bulk, so an insert does not pay for the trigram index.
        EXECUTE 'CREATE INDEX IF NOT EXISTS messages_body_trgm ON {{schema}}.messages USING gin (body gin_trgm_ops) WITH (fastupdate = on)';
        EXECUTE 'CREATE INDEX IF NOT EXISTS visitors_name_trgm ON {{schema}}.visitors USING gin (name gin_trgm_ops)';
        EXECUTE 'CREATE INDEX IF NOT EXISTS visitors_email_trgm ON {{schema}}.visitors USING gin (email gin_trgm_ops)';
    END IF;
END $$;
