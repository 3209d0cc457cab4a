-- Custom roles of the tenant (their permissions are casbin_rules rows like
-- the built-in roles').
CREATE TABLE IF NOT EXISTS {{schema}}.roles (
    name       text PRIMARY KEY,
    created_at timestamptz NOT NULL
);

-- Reports are a permission of their own, held by supervisors and above.
INSERT INTO {{schema}}.casbin_rules (ptype, v0, v1, v2, v3)
SELECT 'p', 'supervisor', v2, 'reports', 'read' FROM {{schema}}.casbin_rules
WHERE ptype = 'g' AND v0 = 'supervisor' AND v1 = 'agent'
ON CONFLICT DO NOTHING;

-- Reports read conversations by when they were resolved.
CREATE INDEX IF NOT EXISTS conversations_resolved ON {{schema}}.conversations (resolved_at) WHERE resolved_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS conversations_created ON {{schema}}.conversations (created_at);
