-- The agent console's tools (issue 9).
--
-- Teams become rows with ids. Until now a team was a bare name in a user's
-- teams list and in conversations.team; every name in use becomes a team, and
-- both places switch to the team's id, so chat's scope rule (an agent sees
-- their teams' conversations) keeps comparing like with like.
CREATE TABLE IF NOT EXISTS teams (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    created_at datetime NOT NULL,
    updated_at datetime NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS teams_name ON teams (lower(name));

INSERT OR IGNORE INTO teams (id, name, created_at, updated_at)
SELECT lower(hex(randomblob(16))), name, strftime('%Y-%m-%d %H:%M:%f+00:00', 'now'), strftime('%Y-%m-%d %H:%M:%f+00:00', 'now') FROM (
    SELECT min(name) AS name FROM (
        SELECT j.value AS name FROM users, json_each(users.teams) AS j
        UNION ALL
        SELECT team FROM conversations WHERE team <> ''
    ) WHERE name <> '' GROUP BY lower(name)
);

UPDATE users SET teams = COALESCE((
    SELECT json_group_array(id) FROM (
        SELECT t.id FROM teams t
        WHERE lower(t.name) IN (SELECT lower(j.value) FROM json_each(users.teams) AS j)
        ORDER BY t.id
    )
), '[]')
WHERE teams <> '[]';

UPDATE conversations SET team = (SELECT t.id FROM teams t WHERE lower(t.name) = lower(conversations.team))
WHERE team <> '' AND EXISTS (SELECT 1 FROM teams t WHERE lower(t.name) = lower(conversations.team));

-- Triage: a priority (0 none, 1 low, 2 normal, 3 high, 4 urgent) and a
-- snooze that hides a conversation from the inbox until a time.
ALTER TABLE conversations ADD COLUMN priority integer NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN snoozed_until datetime;
CREATE INDEX IF NOT EXISTS conversations_snoozed ON conversations (snoozed_until) WHERE snoozed_until IS NOT NULL;

-- Canned replies: the tenant's (owner_id '') and each agent's own.
CREATE TABLE IF NOT EXISTS canned_replies (
    id         text PRIMARY KEY,
    scope      text NOT NULL,
    owner_id   text NOT NULL DEFAULT '',
    shortcut   text NOT NULL,
    body       text NOT NULL,
    created_at datetime NOT NULL,
    updated_at datetime NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS canned_replies_shortcut ON canned_replies (owner_id, lower(shortcut));
