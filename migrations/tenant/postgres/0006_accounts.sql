-- Offboarding: a deactivated user cannot sign in and is not routed to; a
-- deleted one is a tombstone (email and password erased, name kept so the
-- history still reads) that no list shows.
ALTER TABLE {{schema}}.users ADD COLUMN IF NOT EXISTS deactivated_at timestamptz;
ALTER TABLE {{schema}}.users ADD COLUMN IF NOT EXISTS deleted_at timestamptz;
