-- An API key belongs to the user who made it: it stops working when that
-- user is deactivated, deleted, or loses the right to manage keys. Keys made
-- before this migration have no creator and keep working until revoked.
ALTER TABLE {{schema}}.api_keys ADD COLUMN IF NOT EXISTS created_by text;
CREATE INDEX IF NOT EXISTS api_keys_creator ON {{schema}}.api_keys (tenant_id, created_by);

-- Expired sessions are swept by expiry.
CREATE INDEX IF NOT EXISTS sessions_expiry ON {{schema}}.sessions (expires_at);

-- Failed sign-ins per workspace and email, for the per-account lockout. The
-- key is a hash of the workspace slug and the email, so addresses that are
-- not accounts are not stored, and unknown accounts lock out like real ones.
CREATE TABLE IF NOT EXISTS {{schema}}.login_failures (
    account      text PRIMARY KEY,
    failures     integer NOT NULL,
    first_at     timestamptz NOT NULL,
    locked_until timestamptz
);
