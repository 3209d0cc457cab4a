-- Plans (issue 10): free, pro or enterprise; what each allows is in tenants/plans.go.
ALTER TABLE {{schema}}.tenants ADD COLUMN IF NOT EXISTS plan text NOT NULL DEFAULT 'free';
