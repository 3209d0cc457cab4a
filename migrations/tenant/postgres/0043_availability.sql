-- The tenant's business hours (one row): when enabled, the widget shows
-- them and a business_hours node with an empty schedule follows them.
CREATE TABLE IF NOT EXISTS {{schema}}.business_hours (
    id         integer PRIMARY KEY,
    enabled    boolean NOT NULL DEFAULT true,
    timezone   text NOT NULL,
    schedule   text NOT NULL DEFAULT '{}',
    holidays   text NOT NULL DEFAULT '[]',
    updated_at timestamptz NOT NULL
);

-- Every conversation that left the queue for an agent: the honest expected
-- wait is read from the recent ones (a row is written in the assignment's
-- transaction).
CREATE TABLE IF NOT EXISTS {{schema}}.queue_exits (
    conversation_id text NOT NULL,
    queued_at       timestamptz NOT NULL,
    assigned_at     timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS queue_exits_assigned ON {{schema}}.queue_exits (assigned_at);

-- Agents' replies e-mailed to a visitor who was not there to read them:
-- up to which seq, when last, how many (a claim by compare-and-set on
-- last_seq makes one node send each reply once).
CREATE TABLE IF NOT EXISTS {{schema}}.reply_mails (
    conversation_id text PRIMARY KEY,
    last_seq        bigint NOT NULL DEFAULT 0,
    sent_at         timestamptz NOT NULL,
    sent            integer NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS reply_mails_sent ON {{schema}}.reply_mails (sent_at);
