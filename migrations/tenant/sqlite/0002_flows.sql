-- Routing flows: each save is a new version; one flow per tenant is active,
-- and its published_version routes every new event.
CREATE TABLE IF NOT EXISTS flows (
    id                text PRIMARY KEY,
    name              text NOT NULL,
    latest_version    integer NOT NULL,
    published_version integer,
    active            boolean NOT NULL DEFAULT 0,
    created_at        datetime NOT NULL,
    updated_at        datetime NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS flows_one_active ON flows (active) WHERE active;

CREATE TABLE IF NOT EXISTS flow_versions (
    flow_id    text NOT NULL REFERENCES flows(id) ON DELETE CASCADE,
    version    integer NOT NULL,
    graph      text NOT NULL,
    created_by text NOT NULL DEFAULT '',
    created_at datetime NOT NULL,
    PRIMARY KEY (flow_id, version)
);

-- Where a conversation stands in its flow, and its labels.
ALTER TABLE conversations ADD COLUMN labels text NOT NULL DEFAULT '[]';
ALTER TABLE conversations ADD COLUMN flow_id text;
ALTER TABLE conversations ADD COLUMN flow_version integer;
ALTER TABLE conversations ADD COLUMN flow_node text;
ALTER TABLE conversations ADD COLUMN queued_at datetime;
ALTER TABLE conversations ADD COLUMN queue_deadline datetime;
CREATE INDEX IF NOT EXISTS conversations_queue ON conversations (status, queued_at);

-- Teams and the live load counter that assignment reads instead of counting:
-- changed in the same transaction as the assignment, guarded by max_concurrent.
ALTER TABLE users ADD COLUMN teams text NOT NULL DEFAULT '[]';
ALTER TABLE users ADD COLUMN active_conversations integer NOT NULL DEFAULT 0;

-- What routing decided for a conversation, for the console: not messages,
-- so they take no seq and never reach the visitor.
CREATE TABLE IF NOT EXISTS conversation_events (
    id              text PRIMARY KEY,
    conversation_id text NOT NULL REFERENCES conversations(id),
    kind            text NOT NULL,
    detail          text NOT NULL,
    created_at      datetime NOT NULL
);
CREATE INDEX IF NOT EXISTS conversation_events_conv ON conversation_events (conversation_id, created_at);
