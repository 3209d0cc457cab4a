-- Search (issue 10 part 4): substring search over message text, Chinese
-- included. An FTS5 index with the trigram tokenizer answers MATCH and
-- LIKE '%…%' for patterns of three characters or more; shorter ones are a
-- scan of the tenant's messages. It is an external-content table over
-- messages (no second copy of the text), kept by triggers.
CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(body, content='messages', content_rowid='rowid', tokenize='trigram');
INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
CREATE TRIGGER IF NOT EXISTS messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, body) VALUES (new.rowid, new.body);
END;
CREATE TRIGGER IF NOT EXISTS messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.rowid, old.body);
END;
CREATE TRIGGER IF NOT EXISTS messages_fts_update AFTER UPDATE OF body ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.rowid, old.body);
    INSERT INTO messages_fts(rowid, body) VALUES (new.rowid, new.body);
END;
