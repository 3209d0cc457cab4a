CREATE TABLE IF NOT EXISTS {{schema}}.users (
    id             text PRIMARY KEY,
    email          text NOT NULL UNIQUE,
    name           text NOT NULL,
    role           text NOT NULL,
    password_hash  text NOT NULL,
    skills         text NOT NULL DEFAULT '[]',
    max_concurrent integer NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);

-- Casbin policies of this tenant (domain = tenant id).
CREATE TABLE IF NOT EXISTS {{schema}}.casbin_rules (
    id    bigserial PRIMARY KEY,
    ptype text NOT NULL,
    v0    text NOT NULL DEFAULT '',
    v1    text NOT NULL DEFAULT '',
    v2    text NOT NULL DEFAULT '',
    v3    text NOT NULL DEFAULT '',
    v4    text NOT NULL DEFAULT '',
    v5    text NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX IF NOT EXISTS casbin_rules_unique ON {{schema}}.casbin_rules (ptype, v0, v1, v2, v3, v4, v5);

CREATE TABLE IF NOT EXISTS {{schema}}.visitors (
    id           text PRIMARY KEY,
    name         text NOT NULL DEFAULT '',
    email        text NOT NULL DEFAULT '',
    attributes   text NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS {{schema}}.conversations (
    id                  text PRIMARY KEY,
    visitor_id          text NOT NULL REFERENCES {{schema}}.visitors(id),
    status              text NOT NULL,
    assignee_id         text,
    team                text NOT NULL DEFAULT '',
    last_seq            bigint NOT NULL DEFAULT 0,
    last_message_body   text NOT NULL DEFAULT '',
    last_message_author text NOT NULL DEFAULT '',
    last_message_at     timestamptz,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    resolved_at         timestamptz
);
CREATE INDEX IF NOT EXISTS conversations_updated ON {{schema}}.conversations (updated_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS conversations_status ON {{schema}}.conversations (status, created_at);
CREATE INDEX IF NOT EXISTS conversations_assignee ON {{schema}}.conversations (assignee_id, status);
CREATE INDEX IF NOT EXISTS conversations_visitor ON {{schema}}.conversations (visitor_id, status);

-- seq is assigned in the storing transaction from conversations.last_seq.
CREATE TABLE IF NOT EXISTS {{schema}}.messages (
    id              text PRIMARY KEY,
    conversation_id text NOT NULL REFERENCES {{schema}}.conversations(id),
    seq             bigint NOT NULL,
    client_id       text,
    author_type     text NOT NULL,
    author_id       text NOT NULL DEFAULT '',
    author_name     text NOT NULL DEFAULT '',
    body            text NOT NULL,
    private         boolean NOT NULL DEFAULT false,
    attachments     text NOT NULL DEFAULT '[]',
    created_at      timestamptz NOT NULL,
    UNIQUE (conversation_id, seq)
);
CREATE UNIQUE INDEX IF NOT EXISTS messages_client_id ON {{schema}}.messages (conversation_id, author_id, client_id) WHERE client_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS {{schema}}.read_states (
    conversation_id text NOT NULL REFERENCES {{schema}}.conversations(id),
    reader_type     text NOT NULL,
    reader_id       text NOT NULL,
    last_read_seq   bigint NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (conversation_id, reader_type, reader_id)
);
