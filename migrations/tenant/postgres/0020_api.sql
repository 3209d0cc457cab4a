-- The API integrators expect (issue 10).
--
-- Idempotency-Key: a POST's key per principal, the hash of the request it
-- came with and, once answered, the answer (status 0 while the first request
-- is still in flight). Rows older than 24 hours are swept.
CREATE TABLE IF NOT EXISTS {{schema}}.idempotency_keys (
    principal_id text NOT NULL,
    key          text NOT NULL,
    request_hash text NOT NULL,
    status       integer NOT NULL DEFAULT 0,
    content_type text NOT NULL DEFAULT '',
    response     text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (principal_id, key)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_created ON {{schema}}.idempotency_keys (created_at);

-- A conversation's custom attributes (the visitor's are the contact's).
ALTER TABLE {{schema}}.conversations ADD COLUMN IF NOT EXISTS attributes text NOT NULL DEFAULT '{}';
-- Lists sorted by created_at, and the month's conversations counted for the plan.
CREATE INDEX IF NOT EXISTS conversations_created ON {{schema}}.conversations (created_at DESC, id DESC);
