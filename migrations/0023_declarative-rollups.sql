-- Up Migration
-- Declarative rollups (issue 13 part 6; views/README.md "Declaring a rollup"). Until now each rollup was written out
-- in four parts by hand and its mark triggers existed only as the overlay of migrations 0011 and 0013. Now:
--
-- - views/rollup-machinery.sql: the registry (`rollups`, `rollup_marks`) and rollup_define(), which makes a
--   rollup's _between function, _closed table, _open materialized view (+ unique index) and reader view from one
--   declaration, and puts the mark triggers on the tables the declaration names (rollup_watch);
-- - views/rollup-marks.sql: the current definition of every mark function and of the email triggers; the mark
--   functions read `rollup_marks` instead of naming rollups, so a new rollup needs no new trigger code;
-- - each views/<rollup>.sql is one CALL rollup_define(...).
--
-- The seven rollups are declared again below: same names, columns, keys and results. Their closed tables (the record
-- of sealed days) are kept as they are — rollup_define checks that each has the declared columns and key — and only
-- their reader views, open views and functions are made again; the open views are filled as they are created, from
-- the current horizon (a refresh's worth of work, in this transaction). No recount is needed.
--
-- The marks stay what they were (0013, and 0021 for messages: any inbound message marks its emails' days, whatever
-- column of it changed, so an outcome rule reading another column of a message needs no trigger change), but for
-- one widening: an email_sends.<column> mark (the queued day of campaign_kpis_15m) is also recorded when the
-- email's status or sent_at changes. It only ever records more days.
--
-- Locks, all held until commit: replacing the triggers takes SHARE ROW EXCLUSIVE locks on the base tables (writes
-- wait for the migration, reads do not); dropping and creating the open views takes ACCESS EXCLUSIVE locks on them
-- (readers of the rollups wait for the open views' fill, a refresh's worth of work); rollup_define takes the
-- refresh's advisory lock, so the migration waits for a refresh in progress and none starts before it commits.
-- Re-runnable: the transaction is all or nothing.

-- The email outcome triggers of meetings, conversations and messages get names of their own (views/rollup-marks.sql):
-- the ones of 0011 go.
DO $$
DECLARE
    t text;
    e text;
BEGIN
    FOREACH t IN ARRAY ARRAY['meetings', 'conversations', 'conversation_messages'] LOOP
        FOREACH e IN ARRAY ARRAY['inserted', 'updated_new', 'updated_old', 'deleted', 'truncated'] LOOP
            EXECUTE format('DROP TRIGGER %I ON %I', t || '_rollup_' || e, t);
        END LOOP;
    END LOOP;
END $$;

-- views/rollup-machinery.sql
-- The rollup machinery (views/README.md "Declaring a rollup"). A rollup is one declaration, CALL rollup_define(...)
-- in views/<rollup>.sql: its closed table's columns and key, its time column, the aggregate of [lo, hi) and the
-- base-table columns whose writes can change a closed day. From it rollup_define makes the four parts — the
-- <parts>_between function, the <parts>_closed table (filled with the history before the horizon when new; kept,
-- and checked against the declaration, when it exists: it holds the record of sealed days), the <parts>_open
-- materialized view with the unique index REFRESH … CONCURRENTLY needs, and the view readers use — records the
-- rollup in `rollups` (which src/analytics/refresh-views.ts refreshes) and its marks in `rollup_marks` (which the
-- mark triggers of views/rollup-marks.sql read), and puts the mark triggers on every table it names. Calling it
-- again for the same rollup redefines it (a changed aggregate needs a recount: insert a '-infinity' mark for it).

-- The rollups the refresh maintains, by the name of the view readers use (the name marks and view_refreshes
-- carry).
CREATE TABLE rollups (
    rollup VARCHAR(63) PRIMARY KEY,
    parts VARCHAR(63) NOT NULL UNIQUE,
    bucket VARCHAR(63) NOT NULL,
    key_column VARCHAR(63)
);

-- What a write marks for a rollup: a change to a row of `source` dated (by `at_column`) before the horizon marks
-- that UTC day — for the row's `key_column` value when the rollup is keyed. The source 'email_send_outcomes' is the
-- email outcome rules: an email's sent day, by its own key, for any write to the email, its lead's meetings,
-- conversations and inbound messages in the campaign, or its lead's other emails there (the first touch can move).
CREATE TABLE rollup_marks (
    rollup VARCHAR(63) NOT NULL REFERENCES rollups (rollup) ON DELETE CASCADE,
    source VARCHAR(63) NOT NULL,
    at_column VARCHAR(63) NOT NULL,
    key_column VARCHAR(63),
    PRIMARY KEY (rollup, source, at_column),
    -- The email triggers know these columns (rollup_mark_email_*; views/rollup-marks.sql).
    CHECK (source NOT IN ('email_sends', 'email_send_outcomes')
           OR (at_column IN ('created_at', 'sent_at')
               AND (key_column IS NULL OR key_column IN ('campaign_id', 'ab_test_id')))),
    CHECK (source <> 'email_send_outcomes' OR at_column = 'sent_at')
);

-- Puts the statement-level mark triggers of one base table in place, named <stem>_<event> (default stem:
-- <source>_rollup; CREATE OR REPLACE: calling it again is a no-op): `mark` for the rows inserted, updated (old and
-- new rows, one trigger each) and deleted, rollup_mark_all() for a TRUNCATE.
CREATE PROCEDURE rollup_watch(source text, mark text, stem text DEFAULT NULL)
LANGUAGE plpgsql AS $$
DECLARE
    event record;
    prefix text := COALESCE(stem, source || '_rollup');
BEGIN
    FOR event IN SELECT *
                   FROM (VALUES ('inserted', 'INSERT', 'NEW'), ('updated_new', 'UPDATE', 'NEW'),
                                ('updated_old', 'UPDATE', 'OLD'), ('deleted', 'DELETE', 'OLD')) AS e(suffix, op, transition)
    LOOP
        EXECUTE format('CREATE OR REPLACE TRIGGER %I AFTER %s ON %I REFERENCING %s TABLE AS changed '
                       'FOR EACH STATEMENT EXECUTE FUNCTION %I()',
                       prefix || '_' || event.suffix, event.op, source, event.transition, mark);
    END LOOP;
    EXECUTE format('CREATE OR REPLACE TRIGGER %I AFTER TRUNCATE ON %I '
                   'FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_all()', prefix || '_truncated', source);
END $$;

-- The declaration. `columns` are the closed table's (in the order the aggregate returns them), `primary_key` its
-- key and the open view's unique key; `bucket` the time column ([lo, hi) bounds it; a closed index on it unless it
-- leads the key); `aggregate` the body of <parts>_between(lo timestamp, hi timestamp[, keys uuid[]]), the buckets
-- of [lo, hi) straight from the base tables (of the campaigns or A/B tests in `keys` for a keyed rollup; NULL:
-- all); `marks` the '<table>.<column>' whose writes change it. Options: `key_column` keys the rollup (its marks
-- name the key of the row, and the refresh recounts only the marked keys of a day); `parts` the parts' prefix
-- (default: the rollup's name); `reader` the view's query, with %s standing for the closed and open rows `AS days`
-- (default: those rows themselves); `open_bucket_index` indexes the open view on the bucket too.
CREATE PROCEDURE rollup_define(
    name text,
    columns text,
    primary_key text,
    bucket text,
    aggregate text,
    marks text[],
    key_column text DEFAULT NULL,
    parts text DEFAULT NULL,
    reader text DEFAULT NULL,
    open_bucket_index boolean DEFAULT false
)
LANGUAGE plpgsql AS $$
DECLARE
    -- The objects go to the schema the caller creates in (test/views.test.ts builds them in a schema of its own).
    here text := current_schema();
    p text := COALESCE(parts, name);
    declared oid;
    existing oid;
    shape_differs boolean;
    result_columns text;
    open_columns text;
    first_key text;
    mark record;
    created boolean := false;
BEGIN
    -- No refresh runs while a rollup is (re)defined, so none moves the horizon between the open view's fill and
    -- this transaction's commit (the lock refreshViews holds, src/analytics/refresh-views.ts).
    PERFORM pg_advisory_xact_lock(hashtext('reachgraph:refresh_views'));
    -- The declared closed table, built as a temporary table: the parts' column types come from it.
    EXECUTE format('CREATE TEMPORARY TABLE rollup_declared (%s, PRIMARY KEY (%s))', columns, primary_key);
    declared := 'pg_temp.rollup_declared'::regclass;
    SELECT string_agg(format('%I %s', a.attname, format_type(a.atttypid, NULL)), ', ' ORDER BY a.attnum),
           string_agg(format('f.%I::%s AS %I', a.attname, format_type(a.atttypid, a.atttypmod), a.attname), ', '
                      ORDER BY a.attnum)
      INTO result_columns, open_columns
      FROM pg_attribute a
     WHERE a.attrelid = declared AND a.attnum > 0 AND NOT a.attisdropped;
    SELECT a.attname INTO first_key
      FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
     WHERE i.indrelid = declared AND i.indisprimary;

    -- The closed table holds every closed day, and of sealed days the only record: an existing one is kept, and
    -- must be what the declaration says (columns, types, nullability, primary key).
    SELECT c.oid INTO existing
      FROM pg_class c WHERE c.relname = p || '_closed' AND c.relnamespace = here::regnamespace;
    IF existing IS NULL THEN
        EXECUTE format('CREATE TABLE %I.%I (%s, PRIMARY KEY (%s))', here, p || '_closed', columns, primary_key);
        created := true;
    ELSE
        WITH shape AS (
            SELECT t.rel, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull,
                   (SELECT array_position(i.indkey::int2[], a.attnum) FROM pg_index i
                     WHERE i.indrelid = t.rel AND i.indisprimary) AS key_position
              FROM (VALUES (existing), (declared)) AS t(rel)
              JOIN pg_attribute a ON a.attrelid = t.rel AND a.attnum > 0 AND NOT a.attisdropped
        )
        SELECT EXISTS ((SELECT attnum, attname, type, attnotnull, key_position FROM shape WHERE rel = existing
                        EXCEPT SELECT attnum, attname, type, attnotnull, key_position FROM shape WHERE rel = declared)
                       UNION ALL
                       (SELECT attnum, attname, type, attnotnull, key_position FROM shape WHERE rel = declared
                        EXCEPT SELECT attnum, attname, type, attnotnull, key_position FROM shape WHERE rel = existing))
          INTO shape_differs;
        IF shape_differs THEN
            RAISE EXCEPTION 'rollup %: table %_closed exists with other columns or another key than declared', name, p
                USING HINT = 'Migrate the closed table to the declared shape first: it is the record of sealed days.';
        END IF;
    END IF;
    DROP TABLE pg_temp.rollup_declared;
    IF first_key <> bucket THEN
        EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %I.%I (%I)',
                       p || '_closed_' || bucket || '_idx', here, p || '_closed', bucket);
    END IF;

    -- The reader view and the open view are made again from the declaration (they hold no data of their own).
    EXECUTE format('DROP VIEW IF EXISTS %I.%I', here, name);
    EXECUTE format('DROP MATERIALIZED VIEW IF EXISTS %I.%I', here, p || '_open');
    -- The functions pin search_path: since PostgreSQL 17, REFRESH runs them with only pg_catalog on it.
    EXECUTE format('CREATE OR REPLACE FUNCTION %I.%I(lo timestamp, hi timestamp%s) RETURNS TABLE (%s) '
                   'LANGUAGE sql STABLE SET search_path = public AS %L',
                   here, p || '_between', CASE WHEN key_column IS NULL THEN '' ELSE ', keys uuid[]' END,
                   result_columns, aggregate);
    EXECUTE format('CREATE MATERIALIZED VIEW %I.%I AS SELECT %s FROM rollup_horizon h '
                   'CROSS JOIN LATERAL %I.%I(h.horizon, ''infinity''%s) AS f',
                   here, p || '_open', open_columns, here, p || '_between',
                   CASE WHEN key_column IS NULL THEN '' ELSE ', NULL' END);
    EXECUTE format('CREATE UNIQUE INDEX %I ON %I.%I (%s)', p || '_open_key', here, p || '_open', primary_key);
    IF open_bucket_index THEN
        EXECUTE format('CREATE INDEX %I ON %I.%I (%I)', p || '_open_' || bucket || '_idx', here, p || '_open', bucket);
    END IF;
    EXECUTE format('CREATE VIEW %I.%I AS %s', here, name,
                   format(COALESCE(reader, 'SELECT * FROM %s'),
                          CASE WHEN reader IS NULL
                               THEN format('%I UNION ALL SELECT * FROM %I', p || '_closed', p || '_open')
                               ELSE format('(SELECT * FROM %I UNION ALL SELECT * FROM %I) AS days',
                                           p || '_closed', p || '_open') END));

    -- The registry and the marks; then the triggers of the tables the marks name (the email sources have their own,
    -- views/rollup-marks.sql).
    INSERT INTO rollups (rollup, parts, bucket, key_column) VALUES (name, p, bucket, key_column)
        ON CONFLICT (rollup) DO UPDATE
       SET parts = EXCLUDED.parts, bucket = EXCLUDED.bucket, key_column = EXCLUDED.key_column;
    DELETE FROM rollup_marks m WHERE m.rollup = name;
    INSERT INTO rollup_marks (rollup, source, at_column, key_column)
    SELECT name, split_part(s.entry, '.', 1), split_part(s.entry, '.', 2), key_column
      FROM unnest(marks) AS s(entry);
    FOR mark IN SELECT m.source, m.at_column FROM rollup_marks m
                 WHERE m.rollup = name AND m.source NOT IN ('email_sends', 'email_send_outcomes')
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_attribute a
                        WHERE a.attrelid = mark.source::regclass AND a.attname = mark.at_column AND NOT a.attisdropped)
           OR (key_column IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM pg_attribute a
                 WHERE a.attrelid = mark.source::regclass AND a.attname = key_column AND NOT a.attisdropped)) THEN
            RAISE EXCEPTION 'rollup %: mark %.% names no column of that table (or it lacks %)', name, mark.source,
                mark.at_column, key_column;
        END IF;
        CALL rollup_watch(mark.source, 'rollup_mark_rows');
    END LOOP;

    -- A new closed table is filled with all history before the horizon, once. Writers to the marked tables wait
    -- for this transaction (a trigger being created, or this lock): a write the fill does not see is marked.
    IF created THEN
        FOR mark IN SELECT DISTINCT t.source
                      FROM rollup_marks m
                     CROSS JOIN LATERAL unnest(CASE m.source WHEN 'email_send_outcomes'
                                                    THEN ARRAY['email_sends', 'meetings', 'conversations',
                                                               'conversation_messages']
                                                    ELSE ARRAY[m.source] END) AS t(source)
                     WHERE m.rollup = name
        LOOP
            EXECUTE format('LOCK TABLE %I IN SHARE ROW EXCLUSIVE MODE', mark.source);
        END LOOP;
        EXECUTE format('INSERT INTO %I.%I SELECT f.* FROM rollup_horizon h '
                       'CROSS JOIN LATERAL %I.%I(''-infinity'', h.horizon%s) AS f',
                       here, p || '_closed', here, p || '_between',
                       CASE WHEN key_column IS NULL THEN '' ELSE ', NULL' END);
    END IF;
END $$;

-- views/rollup-marks.sql
-- The rollup marks (views/README.md): triggers on the base tables record in rollup_dirty_days each closed UTC day
-- (before rollup_horizon.mark_below) a write can change, for the rollups the declarations say it changes
-- (rollup_marks, filled by rollup_define) and, for a keyed rollup, the key of the row. A write to the open window
-- — nearly all of them — records nothing. This file is the current definition of every mark function and of the
-- email triggers; rollup_define puts the triggers of the other tables in place (rollup_watch).

-- A TRUNCATE: everything ('-infinity').
CREATE OR REPLACE FUNCTION rollup_mark_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rollup_dirty_days (day) VALUES ('-infinity');
    RETURN NULL;
END $$;

-- mark_below, read afresh (VOLATILE: a new snapshot, taken after the calling write got its transaction id).
CREATE OR REPLACE FUNCTION rollup_mark_below() RETURNS timestamp LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN (SELECT mark_below FROM rollup_horizon);
END $$;

-- Any table but the email ones, statement-level over the changed rows (`changed`: the new rows of an INSERT or
-- UPDATE, the old rows of an UPDATE or DELETE, one trigger each): for each mark on this table, the day of the
-- row's column, and the row's key for a keyed rollup (a row without one counts in no key).
CREATE OR REPLACE FUNCTION rollup_mark_rows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    marked text;
BEGIN
    SELECT string_agg(format('SELECT c.%I AS at, %L AS rollup, %s AS key FROM changed c%s', m.at_column, m.rollup,
                             CASE WHEN m.key_column IS NULL THEN 'NULL::uuid' ELSE format('c.%I', m.key_column) END,
                             CASE WHEN m.key_column IS NULL THEN ''
                                  ELSE format(' WHERE c.%I IS NOT NULL', m.key_column) END),
                      ' UNION ALL ')
      INTO marked
      FROM rollup_marks m
     WHERE m.source = TG_TABLE_NAME;
    IF marked IS NOT NULL THEN
        EXECUTE format('INSERT INTO rollup_dirty_days (day, rollup, key) SELECT DISTINCT d.at::date, d.rollup, d.key '
                       'FROM rollup_horizon h, (%s) AS d WHERE d.at < h.mark_below', marked);
    END IF;
    RETURN NULL;
END $$;

-- The key of an email (or of the email a thread or meeting credits) for a mark of the email sources.
CREATE OR REPLACE FUNCTION rollup_mark_email_key(key_column text, campaign_id uuid, ab_test_id uuid) RETURNS uuid
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE key_column WHEN 'campaign_id' THEN campaign_id WHEN 'ab_test_id' THEN ab_test_id END;

-- The email outcome rule (email_send_outcomes marks) in one place: the sent days before `below` of the emails of
-- some leads in some campaigns (pairs), by each email's key. An email's outcomes depend on its lead's meetings,
-- threads and replies in its campaign, and on which of the lead's emails there is the first touch.
CREATE OR REPLACE FUNCTION rollup_mark_lead_emails(lead_ids uuid[], campaign_ids uuid[], below timestamp)
RETURNS void LANGUAGE sql AS $$
INSERT INTO rollup_dirty_days (day, rollup, key)
SELECT DISTINCT e.sent_at::date, m.rollup, k.key
  FROM (SELECT DISTINCT * FROM unnest(lead_ids, campaign_ids)) AS p(lead_id, campaign_id)
  JOIN email_sends e ON e.lead_id = p.lead_id AND e.campaign_id = p.campaign_id
 CROSS JOIN rollup_marks m
 CROSS JOIN LATERAL (SELECT rollup_mark_email_key(m.key_column, e.campaign_id, e.ab_test_id) AS key) AS k
 WHERE m.source = 'email_send_outcomes' AND e.sent_at < below AND (k.key IS NOT NULL OR m.key_column IS NULL)
$$;

-- An email inserted or deleted: the days of its own columns (email_sends.<column> marks) and its sent day
-- (email_send_outcomes marks), and when it was sent before mark_below the lead's emails in the campaign (which
-- one is the first touch, credited with the meeting, can change).
CREATE OR REPLACE FUNCTION rollup_mark_email_sends() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    below timestamp := (SELECT mark_below FROM rollup_horizon);
BEGIN
    INSERT INTO rollup_dirty_days (day, rollup, key)
    SELECT DISTINCT d.at::date, m.rollup, d.key
      FROM changed c
     CROSS JOIN rollup_marks m
     CROSS JOIN LATERAL (SELECT CASE m.at_column WHEN 'created_at' THEN c.created_at ELSE c.sent_at END AS at,
                                rollup_mark_email_key(m.key_column, c.campaign_id, c.ab_test_id) AS key) AS d
     WHERE m.source IN ('email_sends', 'email_send_outcomes')
       AND d.at < below AND (d.key IS NOT NULL OR m.key_column IS NULL);
    PERFORM rollup_mark_lead_emails(array_agg(c.lead_id), array_agg(c.campaign_id), below)
       FROM changed c WHERE c.sent_at < below HAVING count(*) > 0;
    RETURN NULL;
END $$;

-- An email updated (a row trigger whose WHEN skips the open window without running any function body: the hot
-- paths — sending, opens, clicks — update recent emails). For the old and the new row: the sent day for the
-- email_send_outcomes marks (any change: an open, a click, a reply); an email_sends.<column> mark only when the
-- email is counted differently — its status, sent_at, that column or its key changed (so a late open does not
-- recount the platform totals); and the lead's emails in the campaign when status, sent_at, lead or campaign
-- changed (the first touch can move). So a late open marks one day of one campaign and one A/B test.
CREATE OR REPLACE FUNCTION rollup_mark_email_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    below timestamp := rollup_mark_below();
    counted boolean := OLD.status IS DISTINCT FROM NEW.status OR OLD.sent_at IS DISTINCT FROM NEW.sent_at;
    moved boolean := counted OR OLD.lead_id IS DISTINCT FROM NEW.lead_id
                     OR OLD.campaign_id IS DISTINCT FROM NEW.campaign_id;
BEGIN
    INSERT INTO rollup_dirty_days (day, rollup, key)
    SELECT DISTINCT d.at::date, m.rollup, d.key
      FROM rollup_marks m
     CROSS JOIN LATERAL (VALUES (OLD.created_at, OLD.sent_at, OLD.campaign_id, OLD.ab_test_id),
                                (NEW.created_at, NEW.sent_at, NEW.campaign_id, NEW.ab_test_id))
                         AS v(created_at, sent_at, campaign_id, ab_test_id)
     CROSS JOIN LATERAL (SELECT CASE m.at_column WHEN 'created_at' THEN v.created_at ELSE v.sent_at END AS at,
                                rollup_mark_email_key(m.key_column, v.campaign_id, v.ab_test_id) AS key) AS d
     WHERE m.source IN ('email_sends', 'email_send_outcomes')
       AND d.at < below AND (d.key IS NOT NULL OR m.key_column IS NULL)
       AND (m.source = 'email_send_outcomes' OR counted
            OR (m.at_column = 'created_at' AND OLD.created_at IS DISTINCT FROM NEW.created_at)
            OR rollup_mark_email_key(m.key_column, OLD.campaign_id, OLD.ab_test_id)
               IS DISTINCT FROM rollup_mark_email_key(m.key_column, NEW.campaign_id, NEW.ab_test_id));
    IF moved AND least(OLD.sent_at, NEW.sent_at) < below THEN
        PERFORM rollup_mark_lead_emails(ARRAY[OLD.lead_id, NEW.lead_id], ARRAY[OLD.campaign_id, NEW.campaign_id],
                                        below);
    END IF;
    RETURN NULL;
END $$;

-- Meetings and conversations: the lead's emails in the campaign (meeting credit, replies).
CREATE OR REPLACE FUNCTION rollup_mark_lead_campaign() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM rollup_mark_lead_emails(array_agg(c.lead_id), array_agg(c.campaign_id), h.mark_below)
       FROM changed c, rollup_horizon h
      GROUP BY h.mark_below;
    RETURN NULL;
END $$;

-- Messages: any inbound one, as its conversation, whatever column changed — a reply's sentiment, its category or
-- any column a later outcome rule reads (outbound messages count in no outcome).
CREATE OR REPLACE FUNCTION rollup_mark_conversation_messages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM rollup_mark_lead_emails(array_agg(cv.lead_id), array_agg(cv.campaign_id), h.mark_below)
       FROM changed c
       JOIN conversations cv ON cv.id = c.conversation_id
      CROSS JOIN rollup_horizon h
      WHERE c.direction = 'inbound'
      GROUP BY h.mark_below;
    RETURN NULL;
END $$;

-- The email triggers. Updates of emails: a row trigger, whose WHEN runs no function body for the open window.
CREATE OR REPLACE TRIGGER email_sends_rollup_inserted AFTER INSERT ON email_sends REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_email_sends();
CREATE OR REPLACE TRIGGER email_sends_rollup_updated AFTER UPDATE ON email_sends FOR EACH ROW
    WHEN (least(OLD.created_at, OLD.sent_at, NEW.created_at, NEW.sent_at) < rollup_mark_below())
    EXECUTE FUNCTION rollup_mark_email_update();
CREATE OR REPLACE TRIGGER email_sends_rollup_deleted AFTER DELETE ON email_sends REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_email_sends();
CREATE OR REPLACE TRIGGER email_sends_rollup_truncated AFTER TRUNCATE ON email_sends
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_all();
-- The email outcome triggers of meetings, conversations and messages have names of their own
-- (<table>_rollup_outcomes_*), so that a rollup declaring a mark on one of these tables adds its <table>_rollup_*
-- triggers beside them.
CALL rollup_watch('meetings', 'rollup_mark_lead_campaign', 'meetings_rollup_outcomes');
CALL rollup_watch('conversations', 'rollup_mark_lead_campaign', 'conversations_rollup_outcomes');
CALL rollup_watch('conversation_messages', 'rollup_mark_conversation_messages',
                  'conversation_messages_rollup_outcomes');

-- views/campaign_kpis_15m.sql
-- Campaign funnel per campaign × 15-minute UTC bucket (spec §9: reply rate, meeting booking rate). Emails count in
-- the bucket they were sent (queued: the bucket they were queued). 15 minutes is the finest UTC offset step of any
-- time zone, so a day, week or month in any IANA zone is an exact sum of buckets.
--
-- Like every rollup here it is one declaration (views/README.md, rollup-machinery.sql): the closed table's columns
-- and key, the aggregate of the buckets in [lo, hi) straight from the base tables (of the campaigns in keys; NULL:
-- all), and what writes change it — an email's queued day, and its sent day by the email outcome rules. From it
-- come campaign_kpis_15m_between(lo, hi, keys), campaign_kpis_15m_closed (the buckets before the rollup horizon,
-- rewritten only for the days and campaigns that changed), campaign_kpis_15m_open (the materialized view of the
-- buckets from the horizon on) and campaign_kpis_15m, the view readers use, which is both.
CALL rollup_define(
    name => 'campaign_kpis_15m',
    columns => 'campaign_id UUID NOT NULL, bucket TIMESTAMP NOT NULL, queued INTEGER NOT NULL, sent INTEGER NOT NULL,
                bounced INTEGER NOT NULL, delivered INTEGER NOT NULL, opened INTEGER NOT NULL,
                clicked INTEGER NOT NULL, replied INTEGER NOT NULL, positive_replies INTEGER NOT NULL,
                meetings_booked INTEGER NOT NULL',
    primary_key => 'campaign_id, bucket',
    bucket => 'bucket',
    key_column => 'campaign_id',
    marks => '{email_sends.created_at, email_send_outcomes.sent_at}',
    open_bucket_index => true,
    aggregate => $$
SELECT campaign_id, bucket, sum(queued)::int, sum(sent)::int, sum(bounced)::int, sum(delivered)::int,
       sum(opened)::int, sum(clicked)::int, sum(replied)::int, sum(positive_replies)::int, sum(meetings_booked)::int
  FROM (SELECT s.campaign_id, date_bin('15 minutes', s.created_at, TIMESTAMP '2000-01-01') AS bucket,
               1 AS queued, 0 AS sent, 0 AS bounced, 0 AS delivered, 0 AS opened, 0 AS clicked, 0 AS replied,
               0 AS positive_replies, 0 AS meetings_booked
          FROM email_sends s
         WHERE s.campaign_id IS NOT NULL AND s.created_at >= lo AND s.created_at < hi
           AND (keys IS NULL OR s.campaign_id = ANY (keys))
        UNION ALL
        SELECT o.campaign_id, date_bin('15 minutes', o.sent_at, TIMESTAMP '2000-01-01'), 0, 1, o.bounced::int,
               o.delivered::int, o.opened::int, o.clicked::int, o.replied::int, o.positive_reply::int,
               o.meeting_booked::int
          FROM email_send_outcomes o
         WHERE o.campaign_id IS NOT NULL AND o.sent AND o.sent_at >= lo AND o.sent_at < hi
           AND (keys IS NULL OR o.campaign_id = ANY (keys))) AS facts
 GROUP BY campaign_id, bucket
$$);

-- views/campaign_revenue_15m.sql
-- Won deals per campaign × 15-minute UTC bucket of won_at × currency (spec §9: revenue per campaign). Amounts are
-- never converted between currencies: there is no exchange-rate source, so revenue is reported per currency.
-- Declared as campaign_kpis_15m.sql is: kept per campaign; a deal marks the day it was won.
CALL rollup_define(
    name => 'campaign_revenue_15m',
    columns => 'campaign_id UUID NOT NULL, bucket TIMESTAMP NOT NULL, currency CHAR(3) NOT NULL,
                deals_won INTEGER NOT NULL, revenue NUMERIC NOT NULL',
    primary_key => 'campaign_id, bucket, currency',
    bucket => 'bucket',
    key_column => 'campaign_id',
    marks => '{deals.won_at}',
    open_bucket_index => true,
    aggregate => $$
SELECT campaign_id, date_bin('15 minutes', won_at, TIMESTAMP '2000-01-01'), currency, count(*)::int, sum(amount)
  FROM deals
 WHERE status = 'won' AND campaign_id IS NOT NULL AND won_at >= lo AND won_at < hi
   AND (keys IS NULL OR campaign_id = ANY (keys))
 GROUP BY campaign_id, 2, currency
$$);

-- views/platform_kpis_15m.sql
-- Platform activity per 15-minute UTC bucket: leads scraped (created_at), analyses completed (completed_at), demos
-- deployed (deployed_at), videos ready (status ready or archived, on created_at: videos have no ready timestamp),
-- emails sent (sent_at, any campaign) and AI spend (sum of AI-GYM cost, created_at).
-- Declared as campaign_kpis_15m.sql is; one row per bucket (not keyed): a write marks the whole day of its row.
CALL rollup_define(
    name => 'platform_kpis_15m',
    columns => 'bucket TIMESTAMP NOT NULL, leads_scraped INTEGER NOT NULL, analyses_completed INTEGER NOT NULL,
                demos_deployed INTEGER NOT NULL, videos_ready INTEGER NOT NULL, emails_sent INTEGER NOT NULL,
                ai_runs INTEGER NOT NULL, ai_spend NUMERIC NOT NULL',
    primary_key => 'bucket',
    bucket => 'bucket',
    marks => '{leads.created_at, website_analyses.completed_at, demo_sites.deployed_at, videos.created_at,
               email_sends.sent_at, ai_gym_performance.created_at}',
    aggregate => $$
SELECT bucket, sum(leads_scraped)::int, sum(analyses_completed)::int, sum(demos_deployed)::int,
       sum(videos_ready)::int, sum(emails_sent)::int, sum(ai_runs)::int, sum(ai_spend)
  FROM (SELECT date_bin('15 minutes', created_at, TIMESTAMP '2000-01-01') AS bucket, 1 AS leads_scraped,
               0 AS analyses_completed, 0 AS demos_deployed, 0 AS videos_ready, 0 AS emails_sent, 0 AS ai_runs,
               0::numeric AS ai_spend
          FROM leads WHERE created_at >= lo AND created_at < hi
        UNION ALL
        SELECT date_bin('15 minutes', completed_at, TIMESTAMP '2000-01-01'), 0, 1, 0, 0, 0, 0, 0
          FROM website_analyses WHERE status = 'completed' AND completed_at >= lo AND completed_at < hi
        UNION ALL
        SELECT date_bin('15 minutes', deployed_at, TIMESTAMP '2000-01-01'), 0, 0, 1, 0, 0, 0, 0
          FROM demo_sites WHERE status IN ('deployed', 'archived') AND deployed_at >= lo AND deployed_at < hi
        UNION ALL
        SELECT date_bin('15 minutes', created_at, TIMESTAMP '2000-01-01'), 0, 0, 0, 1, 0, 0, 0
          FROM videos WHERE status IN ('ready', 'archived') AND created_at >= lo AND created_at < hi
        UNION ALL
        SELECT date_bin('15 minutes', sent_at, TIMESTAMP '2000-01-01'), 0, 0, 0, 0, 1, 0, 0
          FROM email_sends WHERE status IN ('sent', 'bounced') AND sent_at >= lo AND sent_at < hi
        UNION ALL
        SELECT date_bin('15 minutes', created_at, TIMESTAMP '2000-01-01'), 0, 0, 0, 0, 0, 1, COALESCE(cost, 0)
          FROM ai_gym_performance WHERE created_at >= lo AND created_at < hi) AS facts
 GROUP BY bucket
$$);

-- views/ai_gym_daily.sql
-- AI-GYM per task type × model × UTC day: sums and counts from which any period's means follow exactly (a mean of
-- a value is its sum over the rows that have it divided by their count).
-- Declared as campaign_kpis_15m.sql is; an AI-GYM row marks its day.
CALL rollup_define(
    name => 'ai_gym_daily',
    columns => 'task_type VARCHAR(50) NOT NULL, model_name VARCHAR(50) NOT NULL, day DATE NOT NULL,
                usage_count INTEGER NOT NULL, cost_sum NUMERIC, cost_count INTEGER NOT NULL, quality_sum BIGINT,
                quality_count INTEGER NOT NULL, conversion_sum NUMERIC, conversion_count INTEGER NOT NULL,
                duration_count INTEGER NOT NULL',
    primary_key => 'task_type, day, model_name',
    bucket => 'day',
    marks => '{ai_gym_performance.created_at}',
    aggregate => $$
SELECT task_type, model_name, created_at::date, count(*)::int, sum(cost), count(cost)::int,
       sum(quality_score)::bigint, count(quality_score)::int, sum(conversion_metric), count(conversion_metric)::int,
       count(duration_seconds)::int
  FROM ai_gym_performance
 WHERE task_type IS NOT NULL AND model_name IS NOT NULL AND created_at >= lo AND created_at < hi
 GROUP BY task_type, model_name, created_at::date
$$);

-- views/ai_gym_durations_daily.sql
-- AI-GYM duration histogram per task type × model × UTC day: how many rows took each whole number of seconds.
-- duration_seconds is an integer, so the histogram is lossless and p50/p95 over any set of days are exact
-- (percentile_cont over the rows those days hold).
-- Declared as campaign_kpis_15m.sql is; an AI-GYM row marks its day.
CALL rollup_define(
    name => 'ai_gym_durations_daily',
    columns => 'task_type VARCHAR(50) NOT NULL, model_name VARCHAR(50) NOT NULL, day DATE NOT NULL,
                duration_seconds INTEGER NOT NULL, n INTEGER NOT NULL',
    primary_key => 'task_type, day, model_name, duration_seconds',
    bucket => 'day',
    marks => '{ai_gym_performance.created_at}',
    aggregate => $$
SELECT task_type, model_name, created_at::date, duration_seconds, count(*)::int
  FROM ai_gym_performance
 WHERE task_type IS NOT NULL AND model_name IS NOT NULL AND duration_seconds IS NOT NULL
   AND created_at >= lo AND created_at < hi
 GROUP BY task_type, model_name, created_at::date, duration_seconds
$$);

-- views/ai_gym_costs_daily.sql
-- AI-GYM cost histogram per task type × model × UTC day: how many rows cost each exact amount. cost is
-- NUMERIC(10,4), so the histogram is lossless and cost p50/p95 over any set of days are exact (percentile_cont over
-- the rows those days hold).
-- Declared as campaign_kpis_15m.sql is; an AI-GYM row marks its day.
CALL rollup_define(
    name => 'ai_gym_costs_daily',
    columns => 'task_type VARCHAR(50) NOT NULL, model_name VARCHAR(50) NOT NULL, day DATE NOT NULL,
                cost NUMERIC(10,4) NOT NULL, n INTEGER NOT NULL',
    primary_key => 'task_type, day, model_name, cost',
    bucket => 'day',
    marks => '{ai_gym_performance.created_at}',
    aggregate => $$
SELECT task_type, model_name, created_at::date, cost, count(*)::int
  FROM ai_gym_performance
 WHERE task_type IS NOT NULL AND model_name IS NOT NULL AND cost IS NOT NULL
   AND created_at >= lo AND created_at < hi
 GROUP BY task_type, model_name, created_at::date, cost
$$);

-- views/ab_variant_results.sql
-- A/B results per test × variant over the test's lifetime. exposures = delivered emails carrying the variant; the
-- outcome counts follow email_send_outcomes (meetings: first touch, so an exposed lead's booking counts once).
-- Kept per UTC day of sent_at (the parts are ab_variant_daily_*, keyed by A/B test id; declared as
-- campaign_kpis_15m.sql is) so that a refresh only recounts the tests and days that changed; ab_variant_results,
-- the reader, sums the days.
CALL rollup_define(
    name => 'ab_variant_results',
    parts => 'ab_variant_daily',
    columns => 'ab_test_id UUID NOT NULL, variant VARCHAR(50) NOT NULL, day DATE NOT NULL, sent INTEGER NOT NULL,
                exposures INTEGER NOT NULL, opens INTEGER NOT NULL, clicks INTEGER NOT NULL,
                replies INTEGER NOT NULL, positive_replies INTEGER NOT NULL, meetings INTEGER NOT NULL',
    primary_key => 'ab_test_id, variant, day',
    bucket => 'day',
    key_column => 'ab_test_id',
    marks => '{email_send_outcomes.sent_at}',
    reader => $$
SELECT ab_test_id, variant, sum(sent)::int AS sent, sum(exposures)::int AS exposures, sum(opens)::int AS opens,
       sum(clicks)::int AS clicks, sum(replies)::int AS replies, sum(positive_replies)::int AS positive_replies,
       sum(meetings)::int AS meetings
  FROM %s
 GROUP BY ab_test_id, variant
$$,
    aggregate => $$
SELECT ab_test_id, ab_variant, sent_at::date, count(*)::int, count(*) FILTER (WHERE delivered)::int,
       count(*) FILTER (WHERE opened)::int, count(*) FILTER (WHERE clicked)::int,
       count(*) FILTER (WHERE replied)::int, count(*) FILTER (WHERE positive_reply)::int,
       count(*) FILTER (WHERE meeting_booked)::int
  FROM email_send_outcomes
 WHERE ab_test_id IS NOT NULL AND ab_variant IS NOT NULL AND sent AND sent_at >= lo AND sent_at < hi
   AND (keys IS NULL OR ab_test_id = ANY (keys))
 GROUP BY ab_test_id, ab_variant, sent_at::date
$$);

-- The mark functions of 0011 and 0013 that rollup_mark_rows() replaces (no trigger uses them any more).
DROP FUNCTION rollup_mark_created_at(), rollup_mark_completed_at(), rollup_mark_deployed_at(), rollup_mark_won_at();

-- Down Migration
-- Back to the marks of migrations 0013 and 0021. The rollups' objects that rollup_define made stay: they are the objects 0013
-- left (names, columns, keys, indexes; the same aggregates), so the earlier migrations' downs find them.
CREATE FUNCTION rollup_mark_created_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rollup_dirty_days (day, rollup)
    SELECT DISTINCT c.created_at::date, r.rollup
      FROM changed c, rollup_horizon h, unnest(TG_ARGV) AS r(rollup)
     WHERE c.created_at < h.mark_below;
    RETURN NULL;
END $$;
CREATE FUNCTION rollup_mark_completed_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rollup_dirty_days (day, rollup)
    SELECT DISTINCT c.completed_at::date, 'platform_kpis_15m'
      FROM changed c, rollup_horizon h WHERE c.completed_at < h.mark_below;
    RETURN NULL;
END $$;
CREATE FUNCTION rollup_mark_deployed_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rollup_dirty_days (day, rollup)
    SELECT DISTINCT c.deployed_at::date, 'platform_kpis_15m'
      FROM changed c, rollup_horizon h WHERE c.deployed_at < h.mark_below;
    RETURN NULL;
END $$;
CREATE FUNCTION rollup_mark_won_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rollup_dirty_days (day, rollup, key)
    SELECT DISTINCT c.won_at::date, 'campaign_revenue_15m', c.campaign_id
      FROM changed c, rollup_horizon h WHERE c.won_at < h.mark_below AND c.campaign_id IS NOT NULL;
    RETURN NULL;
END $$;
DO $$
DECLARE
    t record;
    e record;
BEGIN
    FOR t IN SELECT * FROM (VALUES ('leads', 'rollup_mark_created_at(''platform_kpis_15m'')'),
                                   ('videos', 'rollup_mark_created_at(''platform_kpis_15m'')'),
                                   ('ai_gym_performance', 'rollup_mark_created_at(''platform_kpis_15m'', ''ai_gym_daily'', '
                                                          '''ai_gym_durations_daily'', ''ai_gym_costs_daily'')'),
                                   ('website_analyses', 'rollup_mark_completed_at()'),
                                   ('demo_sites', 'rollup_mark_deployed_at()'),
                                   ('deals', 'rollup_mark_won_at()')) AS x(source, mark)
    LOOP
        FOR e IN SELECT * FROM (VALUES ('inserted', 'INSERT', 'NEW'), ('updated_new', 'UPDATE', 'NEW'),
                                       ('updated_old', 'UPDATE', 'OLD'), ('deleted', 'DELETE', 'OLD')) AS y(suffix, op, transition)
        LOOP
            EXECUTE format('CREATE OR REPLACE TRIGGER %I AFTER %s ON %I REFERENCING %s TABLE AS changed '
                           'FOR EACH STATEMENT EXECUTE FUNCTION %s',
                           t.source || '_rollup_' || e.suffix, e.op, t.source, e.transition, t.mark);
        END LOOP;
    END LOOP;
END $$;
-- The email mark functions as 0013 made them (they name their rollups), but for the messages' one: any inbound
-- message marks, as 0021 made it (over 0013 that only records more days, so it is safe without 0021 too).
-- An email inserted or deleted: its queued day (its campaign's funnel), its sent day (its campaign's funnel, its
-- A/B test, platform emails sent) and, when it was sent before mark_below, the sent days of the lead's other emails
-- in the campaign (which one is the first touch, credited with the meeting, can change).
CREATE OR REPLACE FUNCTION rollup_mark_email_sends() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rollup_dirty_days (day, rollup, key)
    SELECT DISTINCT d.at::date, d.rollup, d.key
      FROM rollup_horizon h,
           LATERAL (SELECT c.created_at, 'campaign_kpis_15m', c.campaign_id FROM changed c
                    UNION ALL
                    SELECT c.sent_at, 'platform_kpis_15m', NULL FROM changed c
                    UNION ALL
                    SELECT c.sent_at, k.rollup, k.key
                      FROM changed c,
                           LATERAL (VALUES ('campaign_kpis_15m', c.campaign_id),
                                           ('ab_variant_results', c.ab_test_id)) AS k(rollup, key)
                    UNION ALL
                    SELECT e.sent_at, k.rollup, k.key
                      FROM changed c
                      JOIN email_sends e ON e.lead_id = c.lead_id AND e.campaign_id = c.campaign_id
                     CROSS JOIN LATERAL (VALUES ('campaign_kpis_15m', e.campaign_id),
                                                ('ab_variant_results', e.ab_test_id)) AS k(rollup, key)
                     WHERE c.sent_at < h.mark_below) AS d(at, rollup, key)
     WHERE d.at < h.mark_below AND (d.key IS NOT NULL OR d.rollup = 'platform_kpis_15m');
    RETURN NULL;
END $$;
-- An email updated (row trigger; its WHEN skips the open window): for the old and the new row, the sent day (its
-- campaign's funnel and A/B test); the queued day only when created_at or campaign changed; platform emails sent
-- only when status or sent_at changed; the lead's other emails only when status, sent_at, lead or campaign
-- changed (the first touch can move). So an open, click or reply marks one day of one campaign and one test.
CREATE OR REPLACE FUNCTION rollup_mark_email_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    below timestamp := rollup_mark_below();
    requeued boolean := OLD.created_at IS DISTINCT FROM NEW.created_at OR OLD.campaign_id IS DISTINCT FROM NEW.campaign_id;
    counted boolean := OLD.status IS DISTINCT FROM NEW.status OR OLD.sent_at IS DISTINCT FROM NEW.sent_at;
    moved boolean := counted OR OLD.lead_id IS DISTINCT FROM NEW.lead_id
                     OR OLD.campaign_id IS DISTINCT FROM NEW.campaign_id;
BEGIN
    INSERT INTO rollup_dirty_days (day, rollup, key)
    SELECT DISTINCT d.at::date, d.rollup, d.key
      FROM (VALUES (CASE WHEN requeued THEN OLD.created_at END, 'campaign_kpis_15m', OLD.campaign_id),
                   (CASE WHEN requeued THEN NEW.created_at END, 'campaign_kpis_15m', NEW.campaign_id),
                   (OLD.sent_at, 'campaign_kpis_15m', OLD.campaign_id),
                   (NEW.sent_at, 'campaign_kpis_15m', NEW.campaign_id),
                   (OLD.sent_at, 'ab_variant_results', OLD.ab_test_id),
                   (NEW.sent_at, 'ab_variant_results', NEW.ab_test_id),
                   (CASE WHEN counted THEN OLD.sent_at END, 'platform_kpis_15m', NULL),
                   (CASE WHEN counted THEN NEW.sent_at END, 'platform_kpis_15m', NULL)) AS d(at, rollup, key)
     WHERE d.at < below AND (d.key IS NOT NULL OR d.rollup = 'platform_kpis_15m');
    IF moved AND least(OLD.sent_at, NEW.sent_at) < below THEN
        INSERT INTO rollup_dirty_days (day, rollup, key)
        SELECT DISTINCT e.sent_at::date, k.rollup, k.key
          FROM email_sends e
         CROSS JOIN LATERAL (VALUES ('campaign_kpis_15m', e.campaign_id),
                                    ('ab_variant_results', e.ab_test_id)) AS k(rollup, key)
         WHERE ((e.lead_id = OLD.lead_id AND e.campaign_id = OLD.campaign_id)
                OR (e.lead_id = NEW.lead_id AND e.campaign_id = NEW.campaign_id))
           AND e.sent_at < below AND k.key IS NOT NULL;
    END IF;
    RETURN NULL;
END $$;

-- Meetings and conversations: the sent days of the lead's emails in the campaign (meeting credit, positive reply),
-- for the campaign's funnel and the emails' A/B tests.
CREATE OR REPLACE FUNCTION rollup_mark_lead_campaign() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rollup_dirty_days (day, rollup, key)
    SELECT DISTINCT e.sent_at::date, k.rollup, k.key
      FROM changed c
      JOIN email_sends e ON e.lead_id = c.lead_id AND e.campaign_id = c.campaign_id
     CROSS JOIN LATERAL (VALUES ('campaign_kpis_15m', e.campaign_id),
                                ('ab_variant_results', e.ab_test_id)) AS k(rollup, key)
     CROSS JOIN rollup_horizon h
     WHERE e.sent_at < h.mark_below AND k.key IS NOT NULL;
    RETURN NULL;
END $$;

-- Messages: positive inbound ones, as their conversation.
CREATE OR REPLACE FUNCTION rollup_mark_conversation_messages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rollup_dirty_days (day, rollup, key)
    SELECT DISTINCT e.sent_at::date, k.rollup, k.key
      FROM changed c
      JOIN conversations cv ON cv.id = c.conversation_id
      JOIN email_sends e ON e.lead_id = cv.lead_id AND e.campaign_id = cv.campaign_id
     CROSS JOIN LATERAL (VALUES ('campaign_kpis_15m', e.campaign_id),
                                ('ab_variant_results', e.ab_test_id)) AS k(rollup, key)
     CROSS JOIN rollup_horizon h
     WHERE c.direction = 'inbound' AND e.sent_at < h.mark_below
       AND k.key IS NOT NULL;
    RETURN NULL;
END $$;
-- The email outcome triggers of meetings, conversations and messages under their names of 0011.
CALL rollup_watch('meetings', 'rollup_mark_lead_campaign');
CALL rollup_watch('conversations', 'rollup_mark_lead_campaign');
CALL rollup_watch('conversation_messages', 'rollup_mark_conversation_messages');
DO $$
DECLARE
    t text;
    e text;
BEGIN
    FOREACH t IN ARRAY ARRAY['meetings', 'conversations', 'conversation_messages'] LOOP
        FOREACH e IN ARRAY ARRAY['inserted', 'updated_new', 'updated_old', 'deleted', 'truncated'] LOOP
            EXECUTE format('DROP TRIGGER %I ON %I', t || '_rollup_outcomes_' || e, t);
        END LOOP;
    END LOOP;
END $$;
DROP FUNCTION rollup_mark_rows(), rollup_mark_email_key(text, uuid, uuid);
DROP PROCEDURE rollup_define(text, text, text, text, text, text[], text, text, text, boolean),
    rollup_watch(text, text, text);
DROP TABLE rollup_marks, rollups;
