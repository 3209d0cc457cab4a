-- Contacts: a visitor becomes a contact (the same row, the same id) with a
-- phone, an agent's notes, and — once the site identifies them with
-- Kefu.identify — the site's own user id, unique per tenant, which binds
-- every device of that person to this row.
ALTER TABLE {{schema}}.visitors ADD COLUMN IF NOT EXISTS phone text NOT NULL DEFAULT '';
ALTER TABLE {{schema}}.visitors ADD COLUMN IF NOT EXISTS notes text NOT NULL DEFAULT '';
ALTER TABLE {{schema}}.visitors ADD COLUMN IF NOT EXISTS external_id text;
ALTER TABLE {{schema}}.visitors ADD COLUMN IF NOT EXISTS updated_at timestamptz;
CREATE UNIQUE INDEX IF NOT EXISTS visitors_external_id ON {{schema}}.visitors (external_id) WHERE external_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS visitors_created ON {{schema}}.visitors (created_at DESC, id DESC);
