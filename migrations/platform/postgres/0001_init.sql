CREATE TABLE IF NOT EXISTS {{schema}}.tenants (
    id              text PRIMARY KEY,
    slug            text NOT NULL UNIQUE,
    name            text NOT NULL,
    widget_key      text NOT NULL UNIQUE,
    allowed_origins text NOT NULL DEFAULT '[]',
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);

-- Session tokens are random; only their SHA-256 is stored.
CREATE TABLE IF NOT EXISTS {{schema}}.sessions (
    token_hash text PRIMARY KEY,
    tenant_id  text NOT NULL REFERENCES {{schema}}.tenants(id) ON DELETE CASCADE,
    user_id    text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_user ON {{schema}}.sessions (tenant_id, user_id);

CREATE TABLE IF NOT EXISTS {{schema}}.api_keys (
    id           text PRIMARY KEY,
    tenant_id    text NOT NULL REFERENCES {{schema}}.tenants(id) ON DELETE CASCADE,
    name         text NOT NULL,
    role         text NOT NULL,
    prefix       text NOT NULL,
    key_hash     text NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);
CREATE INDEX IF NOT EXISTS api_keys_tenant ON {{schema}}.api_keys (tenant_id);
