-- Offboarding: a deactivated user cannot sign in and is not routed to; a
-- deleted one is a tombstone (email and password erased, name kept so the
-- history still reads) that no list shows.
ALTER TABLE users ADD COLUMN deactivated_at datetime;
ALTER TABLE users ADD COLUMN deleted_at datetime;
