-- What the inbox shows and the away rules read: the last visitor message,
-- and since when the visitor has been waiting for a person's answer (null
-- once answered). System messages carry a code and parameters that clients
-- render in their own language ({"code": "...", "params": {...}}).
ALTER TABLE conversations ADD COLUMN last_visitor_body text NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN last_visitor_at datetime;
ALTER TABLE conversations ADD COLUMN waiting_since datetime;
ALTER TABLE messages ADD COLUMN system text NOT NULL DEFAULT '';
-- The agent a conversation was last with (kept through requeue and resolve):
-- assignment prefers them, and the visitor is not told twice who they are.
ALTER TABLE conversations ADD COLUMN last_agent_id text;
