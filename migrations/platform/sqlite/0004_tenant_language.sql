-- The language a tenant signed up in (system messages' bodies, the default
-- flow's texts) and how long after resolve a visitor's message reopens the
-- same conversation.
ALTER TABLE tenants ADD COLUMN language text NOT NULL DEFAULT 'en';
ALTER TABLE tenants ADD COLUMN reopen_window_days integer NOT NULL DEFAULT 7;
