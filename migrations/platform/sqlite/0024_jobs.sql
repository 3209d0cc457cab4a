-- Durable timers (chat/jobs.go): work due at a time that must happen even
-- if the node that planned it dies — an agent's away grace, a queue
-- deadline. One row per (tenant, kind, subject): planning again moves it.
-- The single writer claims due rows with a lease; a row whose lease ran out
-- (the process died mid-job) is claimed again.
CREATE TABLE IF NOT EXISTS jobs (
    tenant_id   text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    kind        text NOT NULL,
    subject     text NOT NULL,
    arg         text NOT NULL DEFAULT '',
    token       text NOT NULL,
    due_at      datetime NOT NULL,
    lease_until datetime,
    created_at  datetime NOT NULL,
    PRIMARY KEY (tenant_id, kind, subject)
);
CREATE INDEX IF NOT EXISTS jobs_due ON jobs (due_at);
