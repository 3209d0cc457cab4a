-- Messages partitioned by month (issue 10 part 5), so that retention drops
-- whole months (DROP of a table, no row-by-row DELETE, no bloat) and a
-- month's indexes stay the size of a month.
--
-- The partition key is the message id, not created_at. Message ids are
-- UUIDv7 (tenants.NewID): their first 48 bits are the Unix time in
-- milliseconds, written as hex, so ids sort by time as text and a month is
-- the range of ids from its first millisecond's prefix to the next month's.
-- Partitioning on id keeps the primary key (id) unique across the table (a
-- unique constraint on a partitioned table must include the partition key),
-- keeps message_search able to point at messages(id), and lets every read
-- by id go to one partition. Ids that are not UUIDv7 (seeded history,
-- imports) go to the default partition, which retention trims by created_at.
--
-- (conversation_id, seq) and (conversation_id, author_id, client_id) cannot
-- be unique across a partitioned table without the key, so each partition
-- has them as its own unique indexes. seq needs none (the conversation row's
-- update assigns it under a row lock); client ids are checked across the
-- month boundary by the group commit (chat/commit.go, near a boundary it
-- looks a resend up before inserting).
--
-- message_id_floor and create_message_partitions are what the background job
-- (chat/partitions.go) calls to keep partitions made ahead.
CREATE OR REPLACE FUNCTION {{schema}}.message_id_floor(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $f$
    SELECT substr(h, 1, 8) || '-' || substr(h, 9, 4)
    FROM (SELECT lpad(to_hex(floor(extract(epoch FROM t) * 1000)::bigint), 12, '0') AS h) x
$f$;

-- create_message_partitions makes the monthly partitions from the month of
-- from_t to the month of to_t (UTC), those missing, and returns how many it made.
CREATE OR REPLACE FUNCTION {{schema}}.create_message_partitions(from_t timestamptz, to_t timestamptz) RETURNS integer
LANGUAGE plpgsql AS $f$
DECLARE
    m timestamptz := date_trunc('month', from_t AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    part text;
    made integer := 0;
BEGIN
    WHILE m <= to_t LOOP
        part := 'messages_' || to_char(m AT TIME ZONE 'UTC', 'YYYYMM');
        IF to_regclass(format('%s.%I', '{{schema}}', part)) IS NULL THEN
            EXECUTE format('CREATE TABLE %s.%I PARTITION OF %s.messages FOR VALUES FROM (%L) TO (%L)',
                '{{schema}}', part, '{{schema}}',
                {{schema}}.message_id_floor(m), {{schema}}.message_id_floor(m + interval '1 month'));
            EXECUTE format('CREATE UNIQUE INDEX %I ON %s.%I (conversation_id, seq)', part || '_seq', '{{schema}}', part);
            EXECUTE format('CREATE UNIQUE INDEX %I ON %s.%I (conversation_id, author_id, client_id) WHERE client_id IS NOT NULL',
                part || '_client_id', '{{schema}}', part);
            made := made + 1;
        END IF;
        m := m + interval '1 month';
    END LOOP;
    RETURN made;
END
$f$;

DO $m$
DECLARE
    oldest timestamptz;
    before bigint;
    after bigint;
BEGIN
    IF (SELECT relkind FROM pg_class WHERE oid = '{{schema}}.messages'::regclass) = 'p' THEN
        RETURN;
    END IF;
    -- The same columns, in the same order (those later migrations added too).
    CREATE TABLE {{schema}}.messages_by_month (LIKE {{schema}}.messages INCLUDING DEFAULTS) PARTITION BY RANGE (id);
    ALTER TABLE {{schema}}.messages_by_month ADD CONSTRAINT messages_by_month_pkey PRIMARY KEY (id);
    CREATE TABLE {{schema}}.messages_default PARTITION OF {{schema}}.messages_by_month DEFAULT;
    CREATE UNIQUE INDEX messages_default_seq ON {{schema}}.messages_default (conversation_id, seq);
    CREATE UNIQUE INDEX messages_default_client_id ON {{schema}}.messages_default (conversation_id, author_id, client_id) WHERE client_id IS NOT NULL;

    -- Moving the rows: one transaction (the migration's), so a failure
    -- leaves the old table as it was; the counts must agree before it goes.
    LOCK TABLE {{schema}}.messages IN EXCLUSIVE MODE;
    ALTER TABLE {{schema}}.messages RENAME TO messages_unpartitioned;
    ALTER TABLE {{schema}}.messages_by_month RENAME TO messages;
    SELECT min(created_at) INTO oldest FROM {{schema}}.messages_unpartitioned;
    PERFORM {{schema}}.create_message_partitions(least(coalesce(oldest, now()), now()), now() + interval '2 months');
    INSERT INTO {{schema}}.messages SELECT * FROM {{schema}}.messages_unpartitioned;
    SELECT count(*) INTO before FROM {{schema}}.messages_unpartitioned;
    SELECT count(*) INTO after FROM {{schema}}.messages;
    IF before <> after THEN
        RAISE EXCEPTION 'messages partitioning moved % of % rows', after, before;
    END IF;
    DROP TABLE {{schema}}.messages_unpartitioned CASCADE; -- its trigger and message_search's foreign key
    ALTER INDEX {{schema}}.messages_by_month_pkey RENAME TO messages_pkey;
    ALTER TABLE {{schema}}.messages ADD CONSTRAINT messages_conversation_id_fkey
        FOREIGN KEY (conversation_id) REFERENCES {{schema}}.conversations(id);
END
$m$;

-- message_search follows the messages (it may not point at a partitioned
-- table's rows once a partition is dropped, so no foreign key): a deleted
-- message leaves it by this trigger, a dropped month by the retention job.
ALTER TABLE {{schema}}.message_search DROP CONSTRAINT IF EXISTS message_search_message_id_fkey;
CREATE OR REPLACE FUNCTION {{schema}}.forget_message_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM {{schema}}.message_search WHERE message_id IN (SELECT id FROM old_rows);
    DELETE FROM {{schema}}.search_pending WHERE message_id IN (SELECT id FROM old_rows);
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS messages_search_forget ON {{schema}}.messages;
CREATE TRIGGER messages_search_forget AFTER DELETE ON {{schema}}.messages
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.forget_message_search();
DROP TRIGGER IF EXISTS messages_search_queue ON {{schema}}.messages;
CREATE TRIGGER messages_search_queue AFTER INSERT ON {{schema}}.messages
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.queue_message_search();
