-- Search at scale (issue 10, 1,000,000 messages in one tenant).
--
-- 1. message_search carries what a search filters and orders by — the
--    message's conversation, whether it is a private note, and when it was
--    written — so a search is answered from message_search alone and reads
--    only its page of messages. Before, every match was joined to messages
--    (all partitions) and sorted: 50,000 matches of a common word cost seconds.
--    With (created_at DESC, message_id DESC) indexed, a common word walks the
--    newest rows and stops at its page; a rare one comes from the text index
--    and sorts its few matches.
-- 2. Bigrams: most Chinese words are two characters (退款, 发票, 物流), which
--    pg_trgm cannot index (a trigram needs three), so every two-character
--    search scanned the tenant's messages. search_bigrams gives each text's
--    distinct two-character pieces that hold a non-ASCII character (CJK
--    mostly; two ASCII letters are not worth the index), and a GIN index over
--    them answers "contains 退款" as pg_bigm would. Three characters or more
--    still go to the trigram index.
ALTER TABLE {{schema}}.message_search
    ADD COLUMN IF NOT EXISTS conversation_id text,
    ADD COLUMN IF NOT EXISTS private boolean NOT NULL DEFAULT false,
    ADD COLUMN IF NOT EXISTS created_at timestamptz;
UPDATE {{schema}}.message_search s
    SET conversation_id = m.conversation_id, private = m.private, created_at = m.created_at
    FROM {{schema}}.messages m WHERE m.id = s.message_id AND s.created_at IS NULL;
DELETE FROM {{schema}}.message_search WHERE created_at IS NULL; -- rows whose message is gone
ALTER TABLE {{schema}}.message_search ALTER COLUMN conversation_id SET NOT NULL, ALTER COLUMN created_at SET NOT NULL;
CREATE INDEX IF NOT EXISTS message_search_recent ON {{schema}}.message_search (created_at DESC, message_id DESC);
CREATE INDEX IF NOT EXISTS message_search_conversation ON {{schema}}.message_search (conversation_id, created_at DESC);

CREATE OR REPLACE FUNCTION {{schema}}.search_bigrams(t text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $f$
    SELECT coalesce(array_agg(DISTINCT b), '{}')
    FROM (SELECT substr(lower(t), i, 2) AS b FROM generate_series(1, char_length(t) - 1) AS i) x
    WHERE b ~ '[^\x01-\x7f]' AND b !~ '\s'
$f$;
CREATE INDEX IF NOT EXISTS message_search_bigrams ON {{schema}}.message_search USING gin ({{schema}}.search_bigrams(body));
