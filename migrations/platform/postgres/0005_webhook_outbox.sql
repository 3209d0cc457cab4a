-- The webhook outbox. Every event a tenant's webhooks subscribe to is written
-- here, one row per (event, endpoint), by the very statement or transaction
-- that makes the change it reports: a rolled-back change leaves no row, a
-- committed one cannot lose its row. It lives in the platform schema, not in
-- each tenant's, so that the workers of every node claim due rows from one
-- table (FOR UPDATE SKIP LOCKED) instead of polling thousands of schemas.
-- tenant_id has no foreign key: the message path inserts here and a key check
-- per row would cost it; rows of a tenant that is gone are failed by the
-- worker.
CREATE TABLE IF NOT EXISTS {{schema}}.webhook_outbox (
    id         bigserial PRIMARY KEY,
    tenant_id  text NOT NULL,
    webhook_id text NOT NULL,
    event_id   text NOT NULL,
    type       text NOT NULL,
    -- Events of one chain (a conversation) go to one endpoint in id order.
    chain      text NOT NULL,
    payload    text NOT NULL,
    state      text NOT NULL DEFAULT 'pending', -- pending | delivered | failed
    attempts   integer NOT NULL DEFAULT 0,
    next_at    timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    last_error text NOT NULL DEFAULT '',
    -- Set while a worker holds the row (next_at is then the lease's end).
    leased_until timestamptz
);
-- What is due, oldest first; small because delivered rows leave it.
CREATE INDEX IF NOT EXISTS webhook_outbox_due ON {{schema}}.webhook_outbox (next_at, id) WHERE state = 'pending';
-- The rows before a given one in its chain (per-conversation order).
CREATE INDEX IF NOT EXISTS webhook_outbox_chain ON {{schema}}.webhook_outbox (webhook_id, chain, id) WHERE state = 'pending';
-- What the sweeper deletes once it is older than the retention.
CREATE INDEX IF NOT EXISTS webhook_outbox_done ON {{schema}}.webhook_outbox (updated_at) WHERE state <> 'pending';

-- Tenants that have (or had) a webhook: the sweeper visits only these.
CREATE TABLE IF NOT EXISTS {{schema}}.webhook_tenants (
    tenant_id  text PRIMARY KEY,
    created_at timestamptz NOT NULL
);
