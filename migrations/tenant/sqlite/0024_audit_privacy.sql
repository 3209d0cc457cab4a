-- The audit log (issue 10 part 6): who did what to the workspace, when and
-- from where. Ids are UUIDv7, so they are the time order and the cursor.
CREATE TABLE IF NOT EXISTS audit_log (
    id          text PRIMARY KEY,
    at          datetime NOT NULL,
    actor_type  text NOT NULL,
    actor_id    text NOT NULL DEFAULT '',
    actor_name  text NOT NULL DEFAULT '',
    action      text NOT NULL,
    target_type text NOT NULL DEFAULT '',
    target_id   text NOT NULL DEFAULT '',
    details     text NOT NULL DEFAULT '{}',
    ip          text NOT NULL DEFAULT '',
    user_agent  text NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS audit_log_action ON audit_log (action, id);
CREATE INDEX IF NOT EXISTS audit_log_actor ON audit_log (actor_id, id);

-- An erased contact keeps its row (conversations point at it) with nothing
-- that identifies the person; erased_at says it happened.
ALTER TABLE visitors ADD COLUMN erased_at datetime;
