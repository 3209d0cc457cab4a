-- Webhook endpoints. events is a JSON array of event types. The secret signs
-- deliveries (whsec_<base64 key>); after a rotation the previous secret also
-- signs until previous_expires_at. An endpoint whose deliveries failed for the
-- whole retry window is disabled with a reason.
CREATE TABLE IF NOT EXISTS webhooks (
    id                  text PRIMARY KEY,
    url                 text NOT NULL,
    events              text NOT NULL DEFAULT '[]',
    enabled             boolean NOT NULL DEFAULT true,
    include_private     boolean NOT NULL DEFAULT false,
    description         text NOT NULL DEFAULT '',
    secret              text NOT NULL,
    previous_secret     text NOT NULL DEFAULT '',
    previous_expires_at datetime,
    disabled_reason     text NOT NULL DEFAULT '',
    disabled_at         datetime,
    created_at          datetime NOT NULL,
    updated_at          datetime NOT NULL
);

-- The delivery log: one row per attempt (and per test or redelivery).
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    id               text PRIMARY KEY,
    webhook_id       text NOT NULL,
    outbox_id        integer NOT NULL DEFAULT 0,
    event_id         text NOT NULL,
    event_type       text NOT NULL,
    attempt          integer NOT NULL,
    url              text NOT NULL,
    request_headers  text NOT NULL DEFAULT '{}',
    request_body     text NOT NULL DEFAULT '',
    response_status  integer NOT NULL DEFAULT 0,
    response_headers text NOT NULL DEFAULT '{}',
    response_body    text NOT NULL DEFAULT '',
    latency_ms       integer NOT NULL DEFAULT 0,
    error            text NOT NULL DEFAULT '',
    created_at       datetime NOT NULL
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_list ON webhook_deliveries (webhook_id, id DESC);
CREATE INDEX IF NOT EXISTS webhook_deliveries_age ON webhook_deliveries (created_at);

-- The outbox (see the platform migration on PostgreSQL): on SQLite it lives in
-- the tenant's file, where the change it reports is written, so both share
-- one transaction.
CREATE TABLE IF NOT EXISTS webhook_outbox (
    id         integer PRIMARY KEY AUTOINCREMENT,
    tenant_id  text NOT NULL,
    webhook_id text NOT NULL,
    event_id   text NOT NULL,
    type       text NOT NULL,
    chain      text NOT NULL,
    payload    text NOT NULL,
    state      text NOT NULL DEFAULT 'pending',
    attempts   integer NOT NULL DEFAULT 0,
    next_at    datetime NOT NULL,
    created_at datetime NOT NULL,
    updated_at datetime NOT NULL,
    last_error text NOT NULL DEFAULT '',
    -- Set while a worker holds the row (next_at is then the lease's end).
    leased_until datetime
);
CREATE INDEX IF NOT EXISTS webhook_outbox_due ON webhook_outbox (next_at, id) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS webhook_outbox_chain ON webhook_outbox (webhook_id, chain, id) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS webhook_outbox_done ON webhook_outbox (updated_at) WHERE state <> 'pending';

INSERT OR IGNORE INTO casbin_rules (ptype, v0, v1, v2, v3)
SELECT DISTINCT 'p', 'admin', v1, 'webhooks', a.act FROM casbin_rules, (SELECT 'read' AS act UNION ALL SELECT 'write') AS a
WHERE ptype = 'p' AND v0 = 'admin';
