-- When each tenant last had something happen that recovery may have to
-- finish (chat/activity.go): a visitor's message to the bot or the queue,
-- a conversation opened, requeued, resolved. The periodic recovery pass of
-- a node visits the tenants active lately, not every tenant; a node's first
-- pass after it starts still visits them all.
CREATE TABLE IF NOT EXISTS {{schema}}.tenant_activities (
    tenant_id text PRIMARY KEY REFERENCES {{schema}}.tenants(id) ON DELETE CASCADE,
    active_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS tenant_activities_at ON {{schema}}.tenant_activities (active_at);
