-- The inbox lists open conversations newest first: a partial index over the
-- open ones stays small however much history the tenant keeps, and the
-- planner uses it instead of scanning every resolved conversation. Agents
-- limited to their scope also see their teams' conversations.
CREATE INDEX IF NOT EXISTS conversations_open ON {{schema}}.conversations (updated_at DESC, id DESC) WHERE status <> 'resolved';
CREATE INDEX IF NOT EXISTS conversations_team ON {{schema}}.conversations (team, updated_at DESC);
