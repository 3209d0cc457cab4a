-- The agent console's tools (issue 9).
--
-- Teams become rows with ids. Until now a team was a bare name in a user's
-- teams list and in conversations.team; every name in use becomes a team, and
-- both places switch to the team's id, so chat's scope rule (an agent sees
-- their teams' conversations) keeps comparing like with like.
CREATE TABLE IF NOT EXISTS {{schema}}.teams (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS teams_name ON {{schema}}.teams (lower(name));

INSERT INTO {{schema}}.teams (id, name, created_at, updated_at)
SELECT gen_random_uuid()::text, n.name, now(), now() FROM (
    SELECT DISTINCT ON (lower(name)) name FROM (
        SELECT jsonb_array_elements_text(teams::jsonb) AS name FROM {{schema}}.users
        UNION ALL
        SELECT team FROM {{schema}}.conversations WHERE team <> ''
    ) AS used WHERE name <> '' ORDER BY lower(name), name
) AS n
ON CONFLICT DO NOTHING;

UPDATE {{schema}}.users u SET teams = COALESCE((
    SELECT jsonb_agg(t.id ORDER BY t.id)::text FROM {{schema}}.teams t
    WHERE lower(t.name) IN (SELECT lower(x) FROM jsonb_array_elements_text(u.teams::jsonb) AS x)
), '[]')
WHERE u.teams <> '[]';

UPDATE {{schema}}.conversations c SET team = t.id
FROM {{schema}}.teams t WHERE c.team <> '' AND lower(t.name) = lower(c.team);

-- Triage: a priority (0 none, 1 low, 2 normal, 3 high, 4 urgent) and a
-- snooze that hides a conversation from the inbox until a time.
ALTER TABLE {{schema}}.conversations ADD COLUMN IF NOT EXISTS priority smallint NOT NULL DEFAULT 0;
ALTER TABLE {{schema}}.conversations ADD COLUMN IF NOT EXISTS snoozed_until timestamptz;
-- The waker's periodic query reads only the snoozed few.
CREATE INDEX IF NOT EXISTS conversations_snoozed ON {{schema}}.conversations (snoozed_until) WHERE snoozed_until IS NOT NULL;

-- Canned replies: the tenant's (owner_id '') and each agent's own.
CREATE TABLE IF NOT EXISTS {{schema}}.canned_replies (
    id         text PRIMARY KEY,
    scope      text NOT NULL,
    owner_id   text NOT NULL DEFAULT '',
    shortcut   text NOT NULL,
    body       text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS canned_replies_shortcut ON {{schema}}.canned_replies (owner_id, lower(shortcut));
