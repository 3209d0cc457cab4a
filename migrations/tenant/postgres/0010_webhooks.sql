-- Webhook endpoints. events is a JSON array of event types. The secret signs
-- deliveries (whsec_<base64 key>); after a rotation the previous secret also
-- signs until previous_expires_at. An endpoint whose deliveries failed for the
-- whole retry window is disabled with a reason.
CREATE TABLE IF NOT EXISTS {{schema}}.webhooks (
    id                  text PRIMARY KEY,
    url                 text NOT NULL,
    events              text NOT NULL DEFAULT '[]',
    enabled             boolean NOT NULL DEFAULT true,
    include_private     boolean NOT NULL DEFAULT false,
    description         text NOT NULL DEFAULT '',
    secret              text NOT NULL,
    previous_secret     text NOT NULL DEFAULT '',
    previous_expires_at timestamptz,
    disabled_reason     text NOT NULL DEFAULT '',
    disabled_at         timestamptz,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL
);

-- The delivery log: one row per attempt (and per test or redelivery).
CREATE TABLE IF NOT EXISTS {{schema}}.webhook_deliveries (
    id               text PRIMARY KEY,
    webhook_id       text NOT NULL,
    outbox_id        bigint NOT NULL DEFAULT 0,
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
    created_at       timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_list ON {{schema}}.webhook_deliveries (webhook_id, id DESC);
CREATE INDEX IF NOT EXISTS webhook_deliveries_age ON {{schema}}.webhook_deliveries (created_at);

-- Admins of tenants made before webhooks existed may manage them too.
INSERT INTO {{schema}}.casbin_rules (ptype, v0, v1, v2, v3)
SELECT DISTINCT 'p', 'admin', v1, 'webhooks', a.act FROM {{schema}}.casbin_rules, (VALUES ('read'), ('write')) AS a(act)
WHERE ptype = 'p' AND v0 = 'admin'
ON CONFLICT DO NOTHING;
