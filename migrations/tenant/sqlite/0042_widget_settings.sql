-- The widget's look and behaviour (one row, id 1: colour, position,
-- greeting, launcher text, avatar, language, pre-chat form, whether an
-- identity is required, as JSON) and the identity secret with which the
-- site signs Kefu.identify calls, sealed with AES-GCM under a key derived
-- from KEFU_SECRET. Refused origins: the last pages (at most 20 distinct
-- origins) that tried to load the widget from an origin not allowed.
CREATE TABLE IF NOT EXISTS widget_settings (
    id integer PRIMARY KEY,
    settings text NOT NULL DEFAULT '{}',
    identity_secret_sealed text NOT NULL DEFAULT '',
    updated_at datetime NOT NULL
);
CREATE TABLE IF NOT EXISTS widget_refused_origins (
    origin text PRIMARY KEY,
    hits integer NOT NULL DEFAULT 1,
    first_at datetime NOT NULL,
    last_at datetime NOT NULL
);
