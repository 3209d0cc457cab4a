-- Files are kept in chunks of at most 256 KiB, written as the upload streams
-- in and read back one at a time when served, so no upload or download holds
-- a whole file in memory. STORAGE EXTERNAL: media is already compressed, so
-- PostgreSQL does not try again.
CREATE TABLE IF NOT EXISTS {{schema}}.upload_chunks (
    upload_id text NOT NULL REFERENCES {{schema}}.uploads(id) ON DELETE CASCADE,
    n         integer NOT NULL,
    data      bytea NOT NULL,
    PRIMARY KEY (upload_id, n)
);
ALTER TABLE {{schema}}.upload_chunks ALTER COLUMN data SET STORAGE EXTERNAL;

-- complete: the last chunk is stored (only complete files are served or
-- attached). message_id/conversation_id: the first message that carried the
-- file; uploads never attached are swept after a day, and a conversation's
-- files are deleted with it.
ALTER TABLE {{schema}}.uploads ADD COLUMN IF NOT EXISTS complete boolean NOT NULL DEFAULT true;
ALTER TABLE {{schema}}.uploads ADD COLUMN IF NOT EXISTS message_id text;
ALTER TABLE {{schema}}.uploads ADD COLUMN IF NOT EXISTS conversation_id text;

-- Existing single-blob files move into chunks.
INSERT INTO {{schema}}.upload_chunks (upload_id, n, data)
SELECT u.id, g.n, substring(u.data FROM g.n * 262144 + 1 FOR 262144)
FROM {{schema}}.uploads u, generate_series(0, GREATEST(length(u.data) - 1, 0) / 262144) AS g(n);

-- Existing files already sent belong to the first message that carried them.
UPDATE {{schema}}.uploads u SET message_id = x.message_id, conversation_id = x.conversation_id
FROM (
    SELECT DISTINCT ON (a->>'id') a->>'id' AS upload_id, m.id AS message_id, m.conversation_id
    FROM {{schema}}.messages m CROSS JOIN LATERAL jsonb_array_elements(m.attachments::jsonb) AS a
    WHERE m.attachments <> '[]'
    ORDER BY a->>'id', m.created_at, m.seq
) x
WHERE x.upload_id = u.id;

ALTER TABLE {{schema}}.uploads DROP COLUMN data;

-- Quotas count and sum a rolling hour per uploader and per tenant from
-- these indexes alone (size is in them); the sweeper looks for old files
-- never attached.
CREATE INDEX IF NOT EXISTS uploads_uploader ON {{schema}}.uploads (uploader_id, created_at, size);
CREATE INDEX IF NOT EXISTS uploads_created ON {{schema}}.uploads (created_at, size);
CREATE INDEX IF NOT EXISTS uploads_unattached ON {{schema}}.uploads (created_at) WHERE message_id IS NULL;
CREATE INDEX IF NOT EXISTS uploads_conversation ON {{schema}}.uploads (conversation_id) WHERE conversation_id IS NOT NULL;
