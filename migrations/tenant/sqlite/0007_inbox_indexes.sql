-- The inbox lists open conversations newest first: a partial index over the
-- open ones stays small however much history the tenant keeps. Agents
-- limited to their scope also see their teams' conversations.
CREATE INDEX IF NOT EXISTS conversations_open ON conversations (updated_at DESC, id DESC) WHERE status <> 'resolved';
CREATE INDEX IF NOT EXISTS conversations_team ON conversations (team, updated_at DESC);
