-- Search (issue 10 part 4): substring search over message text, Chinese
-- included. An FTS5 index with the trigram tokenizer answers MATCH for
-- patterns of three characters or more; shorter ones are a scan of the
-- tenant's messages. It is an external-content table over messages (no
-- second copy of the text).
--
-- Tokenizing a message into trigrams inside the group commit's transaction
-- tripled what an insert costs on SQLite's one writer, so new messages only
-- queue their rowid here (one small insert) and the chat service's indexer
-- moves the queue into the index in batches, off the commit path. Search
-- reads the index plus the queued tail, so nothing is missed meanwhile.
CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(body, content='messages', content_rowid='rowid', tokenize='trigram');
INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
CREATE TABLE IF NOT EXISTS search_pending (msg_rowid integer PRIMARY KEY);
CREATE TRIGGER IF NOT EXISTS messages_search_queue AFTER INSERT ON messages BEGIN
    INSERT INTO search_pending (msg_rowid) VALUES (new.rowid);
END;
-- A message leaves the index (or the queue) with its row; an edited body is
-- indexed again. External-content FTS5 must be told the old text to forget.
CREATE TRIGGER IF NOT EXISTS messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, body)
        SELECT 'delete', old.rowid, old.body WHERE NOT EXISTS (SELECT 1 FROM search_pending WHERE msg_rowid = old.rowid);
    DELETE FROM search_pending WHERE msg_rowid = old.rowid;
END;
CREATE TRIGGER IF NOT EXISTS messages_fts_update AFTER UPDATE OF body ON messages
    WHEN NOT EXISTS (SELECT 1 FROM search_pending WHERE msg_rowid = old.rowid) BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.rowid, old.body);
    INSERT INTO messages_fts(rowid, body) VALUES (new.rowid, new.body);
END;
