-- The bots' knowledge: FAQ entries (alternates and keywords as JSON arrays)
-- and articles (markdown; cut into chunks in memory when indexed).
CREATE TABLE IF NOT EXISTS {{schema}}.faqs (
    id         text PRIMARY KEY,
    question   text NOT NULL,
    answer     text NOT NULL,
    alternates text NOT NULL DEFAULT '[]',
    keywords   text NOT NULL DEFAULT '[]',
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS faqs_created ON {{schema}}.faqs (created_at, id);

CREATE TABLE IF NOT EXISTS {{schema}}.articles (
    id         text PRIMARY KEY,
    title      text NOT NULL,
    body       text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

-- Embeddings of FAQ entries, cached per entry and model; hash is of the
-- text embedded, so an edited entry is embedded again.
CREATE TABLE IF NOT EXISTS {{schema}}.faq_embeddings (
    faq_id text NOT NULL,
    model  text NOT NULL,
    hash   text NOT NULL,
    vector text NOT NULL,
    PRIMARY KEY (faq_id, model)
);

-- One row: the tenant's model (its API key sealed with AES-GCM) and the
-- FAQ's threshold and handoff phrases.
CREATE TABLE IF NOT EXISTS {{schema}}.bot_settings (
    id              integer PRIMARY KEY,
    provider        text NOT NULL DEFAULT '',
    base_url        text NOT NULL DEFAULT '',
    model           text NOT NULL DEFAULT '',
    api_key_sealed  text NOT NULL DEFAULT '',
    system_prompt   text NOT NULL DEFAULT '',
    temperature     double precision,
    max_tokens      integer NOT NULL DEFAULT 0,
    timeout_ms      integer NOT NULL DEFAULT 0,
    embedding_model text NOT NULL DEFAULT '',
    faq_threshold   double precision NOT NULL DEFAULT 0,
    handoff_phrases text,
    updated_at      timestamptz NOT NULL
);

-- Tokens each model call used, per conversation.
CREATE TABLE IF NOT EXISTS {{schema}}.bot_usages (
    id                text PRIMARY KEY,
    conversation_id   text NOT NULL DEFAULT '',
    kind              text NOT NULL,
    model             text NOT NULL DEFAULT '',
    prompt_tokens     integer NOT NULL DEFAULT 0,
    completion_tokens integer NOT NULL DEFAULT 0,
    created_at        timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS bot_usage_conversation ON {{schema}}.bot_usages (conversation_id);
CREATE INDEX IF NOT EXISTS bot_usage_created ON {{schema}}.bot_usages (created_at);

-- A model call a flow waits on: pending until answered, handed off or
-- cancelled. The node running it renews lease_until; a pending call whose
-- lease ran out belongs to a node that is gone, and is handed off.
CREATE TABLE IF NOT EXISTS {{schema}}.bot_calls (
    id              text PRIMARY KEY,
    conversation_id text NOT NULL,
    node_id         text NOT NULL,
    status          text NOT NULL,
    owner           text NOT NULL,
    lease_until     timestamptz NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS bot_calls_pending ON {{schema}}.bot_calls (status, lease_until);
CREATE INDEX IF NOT EXISTS bot_calls_conversation ON {{schema}}.bot_calls (conversation_id, status);

-- Admins (and owners, through the role hierarchy) manage knowledge and the
-- model: existing tenants get the policies new ones are seeded with.
INSERT INTO {{schema}}.casbin_rules (ptype, v0, v1, v2, v3)
SELECT 'p', 'admin', v1, 'knowledge', 'read' FROM {{schema}}.casbin_rules WHERE ptype = 'p' AND v0 = 'admin' AND v2 = 'flows' AND v3 = 'read'
ON CONFLICT DO NOTHING;
INSERT INTO {{schema}}.casbin_rules (ptype, v0, v1, v2, v3)
SELECT 'p', 'admin', v1, 'knowledge', 'write' FROM {{schema}}.casbin_rules WHERE ptype = 'p' AND v0 = 'admin' AND v2 = 'flows' AND v3 = 'read'
ON CONFLICT DO NOTHING;
INSERT INTO {{schema}}.casbin_rules (ptype, v0, v1, v2, v3)
SELECT 'p', 'admin', v1, 'bots', 'read' FROM {{schema}}.casbin_rules WHERE ptype = 'p' AND v0 = 'admin' AND v2 = 'flows' AND v3 = 'read'
ON CONFLICT DO NOTHING;
INSERT INTO {{schema}}.casbin_rules (ptype, v0, v1, v2, v3)
SELECT 'p', 'admin', v1, 'bots', 'write' FROM {{schema}}.casbin_rules WHERE ptype = 'p' AND v0 = 'admin' AND v2 = 'flows' AND v3 = 'read'
ON CONFLICT DO NOTHING;
