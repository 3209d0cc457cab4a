-- Plans (issue 10): free, pro or enterprise; what each allows is in tenants/plans.go.
ALTER TABLE tenants ADD COLUMN plan text NOT NULL DEFAULT 'free';
