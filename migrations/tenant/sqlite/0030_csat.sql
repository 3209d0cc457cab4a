-- Customer satisfaction: the visitor rates a resolved conversation 1–5 with
-- an optional comment, once (they may change it within 24 hours). Reports
-- read these columns directly.
ALTER TABLE conversations ADD COLUMN csat_score integer CHECK (csat_score BETWEEN 1 AND 5);
ALTER TABLE conversations ADD COLUMN csat_comment text NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN csat_at datetime;
CREATE INDEX IF NOT EXISTS conversations_csat ON conversations (csat_at) WHERE csat_at IS NOT NULL;
