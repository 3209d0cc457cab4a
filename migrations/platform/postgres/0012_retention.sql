-- Retention (issue 10 part 5): a tenant keeps its messages this many
-- months (0: forever); the retention job removes older ones.
ALTER TABLE {{schema}}.tenants ADD COLUMN IF NOT EXISTS retention_months integer NOT NULL DEFAULT 0;
