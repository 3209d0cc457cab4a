-- Whether agents of a tenant see every conversation, or only theirs, the
-- unassigned ones (the bot's and the queue) and their teams'.
ALTER TABLE tenants ADD COLUMN agents_see_all boolean NOT NULL DEFAULT false;
