-- When each tenant last had something happen that recovery may have to
-- finish (chat/activity.go): a visitor's message to the bot or the queue,
-- a conversation opened, requeued, resolved. The periodic recovery pass
-- visits the tenants active lately, not every tenant; the first pass after
-- a start still visits them all.
CREATE TABLE IF NOT EXISTS tenant_activities (
    tenant_id text PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    active_at datetime NOT NULL
);
CREATE INDEX IF NOT EXISTS tenant_activities_at ON tenant_activities (active_at);
