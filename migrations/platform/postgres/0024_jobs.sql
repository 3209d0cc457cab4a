-- Durable timers (chat/jobs.go): work due at a time that must happen even
-- if the node that planned it dies — an agent's away grace, a queue
-- deadline. One row per (tenant, kind, subject): planning again moves it.
-- Every node claims due rows with FOR UPDATE SKIP LOCKED and a lease; a
-- row whose lease ran out (its node died mid-job) is claimed again.
CREATE TABLE IF NOT EXISTS {{schema}}.jobs (
    tenant_id   text NOT NULL REFERENCES {{schema}}.tenants(id) ON DELETE CASCADE,
    kind        text NOT NULL,
    subject     text NOT NULL,
    arg         text NOT NULL DEFAULT '',
    token       text NOT NULL,
    due_at      timestamptz NOT NULL,
    lease_until timestamptz,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, kind, subject)
);
CREATE INDEX IF NOT EXISTS jobs_due ON {{schema}}.jobs (due_at);
