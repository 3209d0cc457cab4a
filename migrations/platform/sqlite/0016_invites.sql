-- Invitations to a workspace and password-reset links. Both are random
-- tokens of which only the SHA-256 is stored; each expires and works once.
CREATE TABLE IF NOT EXISTS invites (
    id             text PRIMARY KEY,
    token_hash     text NOT NULL UNIQUE,
    tenant_id      text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    email          text NOT NULL,
    role           text NOT NULL,
    skills         text NOT NULL DEFAULT '[]',
    max_concurrent integer NOT NULL DEFAULT 5,
    created_by     text NOT NULL,
    created_at     datetime NOT NULL,
    expires_at     datetime NOT NULL,
    accepted_at    datetime,
    revoked_at     datetime
);
CREATE INDEX IF NOT EXISTS invites_tenant ON invites (tenant_id, created_at);

CREATE TABLE IF NOT EXISTS password_resets (
    token_hash text PRIMARY KEY,
    tenant_id  text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id    text NOT NULL,
    created_at datetime NOT NULL,
    expires_at datetime NOT NULL,
    used_at    datetime
);
CREATE INDEX IF NOT EXISTS password_resets_user ON password_resets (tenant_id, user_id);

-- Which workspaces an email has an account in, for signing in by email
-- alone. Kept by the tenants service beside each workspace's users table;
-- filled for existing workspaces when they are next migrated.
CREATE TABLE IF NOT EXISTS user_emails (
    email     text NOT NULL,
    tenant_id text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id   text NOT NULL,
    PRIMARY KEY (email, tenant_id)
);
