-- Files are kept in chunks of at most 256 KiB, written as the upload streams
-- in and read back one at a time when served, so no upload or download holds
-- a whole file in memory.
CREATE TABLE IF NOT EXISTS upload_chunks (
    upload_id text NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
    n         integer NOT NULL,
    data      blob NOT NULL,
    PRIMARY KEY (upload_id, n)
);

-- complete: the last chunk is stored (only complete files are served or
-- attached). message_id/conversation_id: the first message that carried the
-- file; uploads never attached are swept after a day, and a conversation's
-- files are deleted with it.
ALTER TABLE uploads ADD COLUMN complete boolean NOT NULL DEFAULT 1;
ALTER TABLE uploads ADD COLUMN message_id text;
ALTER TABLE uploads ADD COLUMN conversation_id text;

-- Existing single-blob files move into chunks.
WITH RECURSIVE parts(id, n) AS (
    SELECT id, 0 FROM uploads
    UNION ALL
    SELECT p.id, p.n + 1 FROM parts p JOIN uploads u ON u.id = p.id WHERE (p.n + 1) * 262144 < length(u.data)
)
INSERT INTO upload_chunks (upload_id, n, data)
SELECT p.id, p.n, substr(u.data, p.n * 262144 + 1, 262144) FROM parts p JOIN uploads u ON u.id = p.id;

-- Existing files already sent belong to the first message that carried them
-- (SQLite takes the bare columns from the row of min()).
UPDATE uploads SET message_id = x.message_id, conversation_id = x.conversation_id
FROM (
    SELECT json_extract(a.value, '$.id') AS upload_id, m.id AS message_id, m.conversation_id AS conversation_id, min(m.created_at)
    FROM messages m, json_each(m.attachments) AS a
    WHERE m.attachments <> '[]'
    GROUP BY json_extract(a.value, '$.id')
) AS x
WHERE x.upload_id = uploads.id;

ALTER TABLE uploads DROP COLUMN data;

-- Quotas count and sum a rolling hour per uploader and per tenant from
-- these indexes alone (size is in them); the sweeper looks for old files
-- never attached.
CREATE INDEX IF NOT EXISTS uploads_uploader ON uploads (uploader_id, created_at, size);
CREATE INDEX IF NOT EXISTS uploads_created ON uploads (created_at, size);
CREATE INDEX IF NOT EXISTS uploads_unattached ON uploads (created_at) WHERE message_id IS NULL;
CREATE INDEX IF NOT EXISTS uploads_conversation ON uploads (conversation_id) WHERE conversation_id IS NOT NULL;
