-- Routing flows: each save is a new version; one flow per tenant is active,
-- and its published_version routes every new event.
CREATE TABLE IF NOT EXISTS {{schema}}.flows (
    id                text PRIMARY KEY,
    name              text NOT NULL,
    latest_version    integer NOT NULL,
    published_version integer,
    active            boolean NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS flows_one_active ON {{schema}}.flows (active) WHERE active;

CREATE TABLE IF NOT EXISTS {{schema}}.flow_versions (
    flow_id    text NOT NULL REFERENCES {{schema}}.flows(id) ON DELETE CASCADE,
    version    integer NOT NULL,
    graph      text NOT NULL,
    created_by text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    PRIMARY KEY (flow_id, version)
);

-- Where a conversation stands in its flow, and its labels.
ALTER TABLE {{schema}}.conversations ADD COLUMN IF NOT EXISTS labels text NOT NULL DEFAULT '[]';
ALTER TABLE {{schema}}.conversations ADD COLUMN IF NOT EXISTS flow_id text;
ALTER TABLE {{schema}}.conversations ADD COLUMN IF NOT EXISTS flow_version integer;
ALTER TABLE {{schema}}.conversations ADD COLUMN IF NOT EXISTS flow_node text;
ALTER TABLE {{schema}}.conversations ADD COLUMN IF NOT EXISTS queued_at timestamptz;
ALTER TABLE {{schema}}.conversations ADD COLUMN IF NOT EXISTS queue_deadline timestamptz;
CREATE INDEX IF NOT EXISTS conversations_queue ON {{schema}}.conversations (status, queued_at);

-- Teams and the live load counter that assignment reads instead of counting:
-- changed in the same transaction as the assignment, guarded by max_concurrent.
ALTER TABLE {{schema}}.users ADD COLUMN IF NOT EXISTS teams text NOT NULL DEFAULT '[]';
ALTER TABLE {{schema}}.users ADD COLUMN IF NOT EXISTS active_conversations integer NOT NULL DEFAULT 0;

-- What routing decided for a conversation, for the console: not messages,
-- so they take no seq and never reach the visitor.
CREATE TABLE IF NOT EXISTS {{schema}}.conversation_events (
    id              text PRIMARY KEY,
    conversation_id text NOT NULL REFERENCES {{schema}}.conversations(id),
    kind            text NOT NULL,
    detail          text NOT NULL,
    created_at      timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS conversation_events_conv ON {{schema}}.conversation_events (conversation_id, created_at);
