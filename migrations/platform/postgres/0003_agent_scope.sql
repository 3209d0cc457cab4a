-- Whether agents of a tenant see every conversation, or only theirs, the
-- unassigned ones (the bot's and the queue) and their teams'.
ALTER TABLE {{schema}}.tenants ADD COLUMN IF NOT EXISTS agents_see_all boolean NOT NULL DEFAULT false;
