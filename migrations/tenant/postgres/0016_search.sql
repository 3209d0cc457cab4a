-- Search (issue 10 part 4): substring search over message text and
-- contacts, Chinese included. pg_trgm's GIN indexes answer ILIKE '%…%' for
-- patterns of three characters or more (CJK characters make trigrams too);
-- shorter ones are a scan of the tenant's rows. The platform migration
-- installs pg_trgm when the server lets it; without it the indexes are left
-- out and search still answers, only by scanning.
--
-- A trigram GIN index on messages made every insert of the group commit
-- about 1.7 times as expensive, so message text is indexed in its own table,
-- filled off the commit path: each insert statement queues its messages' ids
-- (one statement-level trigger, one small insert per batch) and the chat
-- service's indexer moves the queue into message_search in batches. Search
-- reads message_search plus the queued tail, so nothing is missed meanwhile.
CREATE TABLE IF NOT EXISTS {{schema}}.search_pending (message_id text PRIMARY KEY);
CREATE TABLE IF NOT EXISTS {{schema}}.message_search (
    message_id text PRIMARY KEY REFERENCES {{schema}}.messages(id) ON DELETE CASCADE,
    body       text NOT NULL
);
INSERT INTO {{schema}}.message_search (message_id, body) SELECT id, body FROM {{schema}}.messages ON CONFLICT DO NOTHING;

CREATE OR REPLACE FUNCTION {{schema}}.queue_message_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {{schema}}.search_pending (message_id) SELECT id FROM new_rows ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS messages_search_queue ON {{schema}}.messages;
CREATE TRIGGER messages_search_queue AFTER INSERT ON {{schema}}.messages
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.queue_message_search();

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        EXECUTE 'CREATE INDEX IF NOT EXISTS message_search_trgm ON {{schema}}.message_search USING gin (body gin_trgm_ops)';
        EXECUTE 'CREATE INDEX IF NOT EXISTS visitors_name_trgm ON {{schema}}.visitors USING gin (name gin_trgm_ops)';
        EXECUTE 'CREATE INDEX IF NOT EXISTS visitors_email_trgm ON {{schema}}.visitors USING gin (email gin_trgm_ops)';
    END IF;
END $$;
