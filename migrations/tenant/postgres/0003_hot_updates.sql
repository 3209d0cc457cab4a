-- Every message bumps its conversation's last_seq. Leaving room on each page
-- (fillfactor) lets those updates be HOT — no new index entries, dead
-- versions pruned in place — as long as no indexed column changes; the write
-- path therefore moves updated_at (indexed, for the inbox order) only when it
-- is more than a few seconds old. Vacuum the table eagerly as well.
ALTER TABLE {{schema}}.conversations SET (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 200);
