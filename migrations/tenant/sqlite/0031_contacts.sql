-- Contacts: a visitor becomes a contact (the same row, the same id) with a
-- phone, an agent's notes, and — once the site identifies them with
-- Kefu.identify — the site's own user id, unique per tenant, which binds
-- every device of that person to this row.
ALTER TABLE visitors ADD COLUMN phone text NOT NULL DEFAULT '';
ALTER TABLE visitors ADD COLUMN notes text NOT NULL DEFAULT '';
ALTER TABLE visitors ADD COLUMN external_id text;
ALTER TABLE visitors ADD COLUMN updated_at datetime;
CREATE UNIQUE INDEX IF NOT EXISTS visitors_external_id ON visitors (external_id) WHERE external_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS visitors_created ON visitors (created_at DESC, id DESC);
