-- Retention (issue 10 part 5). SQLite has no partitions: the retention job
-- deletes a tenant's old messages by created_at in small batches (the one
-- writer is never held long), and this index finds them.
CREATE INDEX IF NOT EXISTS messages_created ON messages (created_at);
