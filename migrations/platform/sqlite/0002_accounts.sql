-- An API key belongs to the user who made it: it stops working when that
-- user is deactivated, deleted, or loses the right to manage keys. Keys made
-- before this migration have no creator and keep working until revoked.
ALTER TABLE api_keys ADD COLUMN created_by text;
CREATE INDEX IF NOT EXISTS api_keys_creator ON api_keys (tenant_id, created_by);

-- Expired sessions are swept by expiry.
CREATE INDEX IF NOT EXISTS sessions_expiry ON sessions (expires_at);

-- Failed sign-ins per workspace and email, for the per-account lockout. The
-- key is a hash of the workspace slug and the email, so addresses that are
-- not accounts are not stored, and unknown accounts lock out like real ones.
CREATE TABLE IF NOT EXISTS login_failures (
    account      text PRIMARY KEY,
    failures     integer NOT NULL,
    first_at     datetime NOT NULL,
    locked_until datetime
);
