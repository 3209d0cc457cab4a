-- Tenants that have (or had) a webhook. On SQLite each tenant's outbox is in
-- its own file (a transaction cannot span files), so the node's worker polls
-- the outboxes of these tenants only, and the sweeper visits only these.
CREATE TABLE IF NOT EXISTS webhook_tenants (
    tenant_id  text PRIMARY KEY,
    created_at datetime NOT NULL
);
