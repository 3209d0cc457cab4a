-- Customer satisfaction: the visitor rates a resolved conversation 1–5 with
-- an optional comment, once (they may change it within 24 hours). Reports
-- read these columns directly.
ALTER TABLE {{schema}}.conversations ADD COLUMN IF NOT EXISTS csat_score integer CHECK (csat_score BETWEEN 1 AND 5);
ALTER TABLE {{schema}}.conversations ADD COLUMN IF NOT EXISTS csat_comment text NOT NULL DEFAULT '';
ALTER TABLE {{schema}}.conversations ADD COLUMN IF NOT EXISTS csat_at timestamptz;
CREATE INDEX IF NOT EXISTS conversations_csat ON {{schema}}.conversations (csat_at) WHERE csat_at IS NOT NULL;
