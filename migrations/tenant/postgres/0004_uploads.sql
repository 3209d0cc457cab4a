-- Uploaded files, kept in the database so every node serves them without
-- shared storage (they are at most 10 MiB each).
CREATE TABLE IF NOT EXISTS {{schema}}.uploads (
    id            text PRIMARY KEY,
    name          text NOT NULL,
    content_type  text NOT NULL,
    size          bigint NOT NULL,
    data          bytea NOT NULL,
    uploader_type text NOT NULL,
    uploader_id   text NOT NULL,
    created_at    timestamptz NOT NULL
);
