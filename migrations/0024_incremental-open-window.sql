-- Up Migration
-- Freshness in seconds (issue 14 target 3). The open window of every rollup becomes a table kept exact by a fold
-- that runs every second (src/analytics/fold-open-changes.ts) instead of a materialized view re-made by each
-- refresh every few minutes:
--
-- - rollup_open_changes: the change log. The mark triggers (views/rollup-marks.sql) record for every write from
--   the horizon on the (rollup, bucket, key) it can change, as they record closed days in rollup_dirty_days; the
--   fold deletes the rows it saw and recounts just those buckets (and keys) through <parts>_between, in one
--   REPEATABLE READ transaction that records its asOf in view_refreshes (trigger 'fold'). So it is exact for every
--   measure, distinct counts and percentiles included, and its cost follows the new rows, not the history.
-- - rollups.bucket_seconds (rollup_define's new `bucket_seconds`, default a day; 900 for the 15-minute rollups):
--   the width of what a write in the open window recounts.
-- - <parts>_open: a table (primary key <parts>_open_key on the declared key), filled here from the current horizon.
-- - The email update trigger loses its WHEN (it skipped the open window), and the email and lead-campaign marks
--   record the open window too (rollup_record).
--
-- Locks, all held until commit: rollup_define takes the refresh's advisory lock (no refresh or fold runs meanwhile)
-- and SHARE ROW EXCLUSIVE locks on the marked base tables before it fills the open tables (writes wait for the
-- migration, reads do not), so no write falls between a fill and the new triggers; dropping the open materialized
-- views takes ACCESS EXCLUSIVE locks on them (readers of the rollups wait for the fill, a refresh's worth of work).
-- Re-runnable: the transaction is all or nothing.

CREATE TABLE rollup_open_changes (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- NULL: every rollup (a TRUNCATE, with bucket '-infinity': the whole open window).
    rollup VARCHAR(63),
    bucket TIMESTAMP NOT NULL,
    -- NULL: every key of the bucket (and the only value of a rollup without keys).
    key UUID,
    marked_at TIMESTAMP NOT NULL DEFAULT NOW()
);

ALTER TABLE rollups ADD COLUMN bucket_seconds INTEGER NOT NULL DEFAULT 86400
    CHECK (bucket_seconds > 0 AND 86400 % bucket_seconds = 0);

ALTER TABLE view_refreshes DROP CONSTRAINT view_refreshes_trigger_check;
ALTER TABLE view_refreshes ADD CONSTRAINT view_refreshes_trigger_check
    CHECK (trigger IN ('migration', 'startup', 'schedule', 'admin', 'test', 'retention', 'fold'));
-- Each fold deletes the fold rows before its own (one a second would fill the 30-day log).
CREATE INDEX view_refreshes_fold_idx ON view_refreshes (as_of) WHERE trigger = 'fold';

-- rollup_define gains bucket_seconds (a new signature) and makes the open part a table.
DROP PROCEDURE rollup_define(text, text, text, text, text, text[], text, text, text, boolean);
-- views/rollup-machinery.sql (rollup_define)
-- The declaration. `columns` are the closed table's (in the order the aggregate returns them), `primary_key` its
-- key and the open view's unique key; `bucket` the time column ([lo, hi) bounds it; a closed index on it unless it
-- leads the key); `aggregate` the body of <parts>_between(lo timestamp, hi timestamp[, keys uuid[]]), the buckets
-- of [lo, hi) straight from the base tables (of the campaigns or A/B tests in `keys` for a keyed rollup; NULL:
-- all); `marks` the '<table>.<column>' whose writes change it. Options: `key_column` keys the rollup (its marks
-- name the key of the row, and the refresh recounts only the marked keys of a day); `parts` the parts' prefix
-- (default: the rollup's name); `reader` the view's query, with %s standing for the closed and open rows `AS days`
-- (default: those rows themselves); `open_bucket_index` indexes the open table on the bucket too; `bucket_seconds`
-- the bucket's width (default a day; what the fold recounts for a write in the open window).
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
    open_bucket_index boolean DEFAULT false,
    bucket_seconds integer DEFAULT 86400
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
    first_key text;
    mark record;
    created boolean := false;
BEGIN
    -- No refresh or fold runs while a rollup is (re)defined, so none moves the horizon or writes the open table
    -- between its fill and this transaction's commit (the lock refreshViews holds, src/analytics/refresh-views.ts).
    PERFORM pg_advisory_xact_lock(hashtext('reachgraph:refresh_views'));
    -- The declared closed table, built as a temporary table: the parts' column types come from it.
    EXECUTE format('CREATE TEMPORARY TABLE rollup_declared (%s, PRIMARY KEY (%s))', columns, primary_key);
    declared := 'pg_temp.rollup_declared'::regclass;
    SELECT string_agg(format('%I %s', a.attname, format_type(a.atttypid, NULL)), ', ' ORDER BY a.attnum)
      INTO result_columns
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

    -- The reader view and the open table are made again from the declaration (they hold nothing but what the base
    -- tables say; the open part was a materialized view before migration 0024).
    EXECUTE format('DROP VIEW IF EXISTS %I.%I', here, name);
    IF EXISTS (SELECT 1 FROM pg_class c
                WHERE c.relname = p || '_open' AND c.relnamespace = here::regnamespace AND c.relkind = 'm') THEN
        EXECUTE format('DROP MATERIALIZED VIEW %I.%I', here, p || '_open');
    END IF;
    EXECUTE format('DROP TABLE IF EXISTS %I.%I', here, p || '_open');
    -- The functions pin search_path: since PostgreSQL 17, REFRESH runs them with only pg_catalog on it.
    EXECUTE format('CREATE OR REPLACE FUNCTION %I.%I(lo timestamp, hi timestamp%s) RETURNS TABLE (%s) '
                   'LANGUAGE sql STABLE SET search_path = public AS %L',
                   here, p || '_between', CASE WHEN key_column IS NULL THEN '' ELSE ', keys uuid[]' END,
                   result_columns, aggregate);
    EXECUTE format('CREATE TABLE %I.%I (%s, CONSTRAINT %I PRIMARY KEY (%s))',
                   here, p || '_open', columns, p || '_open_key', primary_key);
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
    INSERT INTO rollups (rollup, parts, bucket, key_column, bucket_seconds)
    VALUES (name, p, bucket, key_column, bucket_seconds)
        ON CONFLICT (rollup) DO UPDATE
       SET parts = EXCLUDED.parts, bucket = EXCLUDED.bucket, key_column = EXCLUDED.key_column,
           bucket_seconds = EXCLUDED.bucket_seconds;
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

    -- The open table is filled with the buckets from the horizon on, and a new closed table with all history before
    -- it, once. Writers to the marked tables wait for this transaction (the lock): a write the fills do not see
    -- commits after this transaction, with the marks and triggers above in place, so it is recorded (in
    -- rollup_dirty_days or rollup_open_changes) and the next refresh or fold counts it.
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
                   'CROSS JOIN LATERAL %I.%I(h.horizon, ''infinity''%s) AS f',
                   here, p || '_open', here, p || '_between',
                   CASE WHEN key_column IS NULL THEN '' ELSE ', NULL' END);
    IF created THEN
        EXECUTE format('INSERT INTO %I.%I SELECT f.* FROM rollup_horizon h '
                       'CROSS JOIN LATERAL %I.%I(''-infinity'', h.horizon%s) AS f',
                       here, p || '_closed', here, p || '_between',
                       CASE WHEN key_column IS NULL THEN '' ELSE ', NULL' END);
    END IF;
END $$;

-- views/rollup-marks.sql (rollup_mark_lead_emails loses its `below`: rollup_record splits closed from open)
DROP FUNCTION rollup_mark_lead_emails(uuid[], uuid[], timestamp);
-- The rollup marks (views/README.md): triggers on the base tables record what a write can change, for the rollups
-- the declarations say it changes (rollup_marks, filled by rollup_define) and, for a keyed rollup, the key of the
-- row: in rollup_dirty_days each closed UTC day (before rollup_horizon.mark_below), which the refresh recounts, and
-- in rollup_open_changes each bucket of the open window (from rollup_horizon.horizon on), which the fold recounts
-- every second (src/analytics/fold-open-changes.ts). This file is the current definition of every mark function
-- and of the email triggers; rollup_define puts the triggers of the other tables in place (rollup_watch).

-- A TRUNCATE: everything ('-infinity'), closed and open.
CREATE OR REPLACE FUNCTION rollup_mark_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rollup_dirty_days (day) VALUES ('-infinity');
    INSERT INTO rollup_open_changes (bucket) VALUES ('-infinity');
    RETURN NULL;
END $$;

-- Records what a write changed, given as parallel arrays of (time of the row's column, rollup, key): the UTC day
-- when it is before mark_below (rollup_dirty_days), the rollup's bucket when it is from the horizon on and finite
-- (rollup_open_changes; 'infinity' is in no bucket the open window counts); both while a refresh moves the
-- horizon. The horizon is read afresh (VOLATILE: a new snapshot, after the calling write got its transaction id):
-- a refresh that moves it past a time this read missed had announced mark_below before, so the day is recorded as
-- closed.
CREATE OR REPLACE FUNCTION rollup_record(ats timestamp[], rollup_names text[], keys uuid[]) RETURNS void
LANGUAGE sql VOLATILE AS $$
WITH d AS (
    SELECT DISTINCT c.at, c.rollup, c.key, h.horizon, h.mark_below
      FROM unnest(ats, rollup_names, keys) AS c(at, rollup, key), rollup_horizon h
     WHERE c.at IS NOT NULL
), closed AS (
    INSERT INTO rollup_dirty_days (day, rollup, key)
    SELECT DISTINCT d.at::date, d.rollup, d.key FROM d WHERE d.at < d.mark_below
)
INSERT INTO rollup_open_changes (rollup, bucket, key)
SELECT DISTINCT d.rollup, date_bin(make_interval(secs => r.bucket_seconds), d.at, TIMESTAMP '2000-01-01'), d.key
  FROM d JOIN rollups r ON r.rollup = d.rollup
 WHERE d.at >= d.horizon AND isfinite(d.at)
$$;

-- mark_below, read afresh (VOLATILE: a new snapshot, taken after the calling write got its transaction id).
CREATE OR REPLACE FUNCTION rollup_mark_below() RETURNS timestamp LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN (SELECT mark_below FROM rollup_horizon);
END $$;

-- Any table but the email ones, statement-level over the changed rows (`changed`: the new rows of an INSERT or
-- UPDATE, the old rows of an UPDATE or DELETE, one trigger each): for each mark on this table, the time of the
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
        EXECUTE format('SELECT rollup_record(array_agg(d.at), array_agg(d.rollup), array_agg(d.key)) FROM (%s) AS d',
                       marked);
    END IF;
    RETURN NULL;
END $$;

-- The key of an email (or of the email a thread or meeting credits) for a mark of the email sources.
CREATE OR REPLACE FUNCTION rollup_mark_email_key(key_column text, campaign_id uuid, ab_test_id uuid) RETURNS uuid
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE key_column WHEN 'campaign_id' THEN campaign_id WHEN 'ab_test_id' THEN ab_test_id END;

-- The email outcome rule (email_send_outcomes marks) in one place: the sent times of the emails of some leads in
-- some campaigns (pairs), by each email's key. An email's outcomes depend on its lead's meetings, threads and
-- replies in its campaign, and on which of the lead's emails there is the first touch.
CREATE OR REPLACE FUNCTION rollup_mark_lead_emails(lead_ids uuid[], campaign_ids uuid[])
RETURNS void LANGUAGE sql AS $$
SELECT rollup_record(array_agg(e.sent_at), array_agg(m.rollup), array_agg(k.key))
  FROM (SELECT DISTINCT * FROM unnest(lead_ids, campaign_ids)) AS p(lead_id, campaign_id)
  JOIN email_sends e ON e.lead_id = p.lead_id AND e.campaign_id = p.campaign_id
 CROSS JOIN rollup_marks m
 CROSS JOIN LATERAL (SELECT rollup_mark_email_key(m.key_column, e.campaign_id, e.ab_test_id) AS key) AS k
 WHERE m.source = 'email_send_outcomes' AND e.sent_at IS NOT NULL AND (k.key IS NOT NULL OR m.key_column IS NULL)
$$;

-- An email inserted or deleted: the times of its own columns (email_sends.<column> marks) and its sent time
-- (email_send_outcomes marks), and when it was sent the lead's emails in the campaign (which one is the first
-- touch, credited with the meeting, can change).
CREATE OR REPLACE FUNCTION rollup_mark_email_sends() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM rollup_record(array_agg(d.at), array_agg(m.rollup), array_agg(d.key))
       FROM changed c
      CROSS JOIN rollup_marks m
      CROSS JOIN LATERAL (SELECT CASE m.at_column WHEN 'created_at' THEN c.created_at ELSE c.sent_at END AS at,
                                 rollup_mark_email_key(m.key_column, c.campaign_id, c.ab_test_id) AS key) AS d
      WHERE m.source IN ('email_sends', 'email_send_outcomes') AND (d.key IS NOT NULL OR m.key_column IS NULL);
    PERFORM rollup_mark_lead_emails(array_agg(c.lead_id), array_agg(c.campaign_id))
       FROM changed c WHERE c.sent_at IS NOT NULL HAVING count(*) > 0;
    RETURN NULL;
END $$;

-- An email updated (a row trigger: the hot paths — sending, opens, clicks — update one email). For the old and the
-- new row: the sent time for the email_send_outcomes marks (any change: an open, a click, a reply); an
-- email_sends.<column> mark only when the email is counted differently — its status, sent_at, that column or its
-- key changed (so an open does not recount the platform totals); and the lead's emails in the campaign when
-- status, sent_at, lead or campaign changed (the first touch can move). So an open marks one bucket (or closed
-- day) of one campaign and one A/B test.
CREATE OR REPLACE FUNCTION rollup_mark_email_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    counted boolean := OLD.status IS DISTINCT FROM NEW.status OR OLD.sent_at IS DISTINCT FROM NEW.sent_at;
    moved boolean := counted OR OLD.lead_id IS DISTINCT FROM NEW.lead_id
                     OR OLD.campaign_id IS DISTINCT FROM NEW.campaign_id;
BEGIN
    PERFORM rollup_record(array_agg(d.at), array_agg(m.rollup), array_agg(d.key))
       FROM rollup_marks m
     CROSS JOIN LATERAL (VALUES (OLD.created_at, OLD.sent_at, OLD.campaign_id, OLD.ab_test_id),
                                (NEW.created_at, NEW.sent_at, NEW.campaign_id, NEW.ab_test_id))
                         AS v(created_at, sent_at, campaign_id, ab_test_id)
     CROSS JOIN LATERAL (SELECT CASE m.at_column WHEN 'created_at' THEN v.created_at ELSE v.sent_at END AS at,
                                rollup_mark_email_key(m.key_column, v.campaign_id, v.ab_test_id) AS key) AS d
     WHERE m.source IN ('email_sends', 'email_send_outcomes') AND (d.key IS NOT NULL OR m.key_column IS NULL)
       AND (m.source = 'email_send_outcomes' OR counted
            OR (m.at_column = 'created_at' AND OLD.created_at IS DISTINCT FROM NEW.created_at)
            OR rollup_mark_email_key(m.key_column, OLD.campaign_id, OLD.ab_test_id)
               IS DISTINCT FROM rollup_mark_email_key(m.key_column, NEW.campaign_id, NEW.ab_test_id));
    IF moved AND (OLD.sent_at IS NOT NULL OR NEW.sent_at IS NOT NULL) THEN
        PERFORM rollup_mark_lead_emails(ARRAY[OLD.lead_id, NEW.lead_id], ARRAY[OLD.campaign_id, NEW.campaign_id]);
    END IF;
    RETURN NULL;
END $$;

-- Meetings and conversations: the lead's emails in the campaign (meeting credit, replies).
CREATE OR REPLACE FUNCTION rollup_mark_lead_campaign() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM rollup_mark_lead_emails(array_agg(c.lead_id), array_agg(c.campaign_id))
       FROM changed c HAVING count(*) > 0;
    RETURN NULL;
END $$;

-- Messages: any inbound one, as its conversation, whatever column changed — a reply's sentiment, its category or
-- any column a later outcome rule reads (outbound messages count in no outcome).
CREATE OR REPLACE FUNCTION rollup_mark_conversation_messages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM rollup_mark_lead_emails(array_agg(cv.lead_id), array_agg(cv.campaign_id))
       FROM changed c
       JOIN conversations cv ON cv.id = c.conversation_id
      WHERE c.direction = 'inbound'
     HAVING count(*) > 0;
    RETURN NULL;
END $$;

-- The email triggers. Updates of emails: a row trigger (the open window is recorded too, so it has no WHEN).
CREATE OR REPLACE TRIGGER email_sends_rollup_inserted AFTER INSERT ON email_sends REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_email_sends();
CREATE OR REPLACE TRIGGER email_sends_rollup_updated AFTER UPDATE ON email_sends FOR EACH ROW
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
    bucket_seconds => 900,
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
    bucket_seconds => 900,
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
-- Declared as campaign_kpis_15m.sql is; one row per bucket (not keyed): a write marks the whole day of its row when
-- it is closed, its 15-minute bucket in the open window.
CALL rollup_define(
    name => 'platform_kpis_15m',
    columns => 'bucket TIMESTAMP NOT NULL, leads_scraped INTEGER NOT NULL, analyses_completed INTEGER NOT NULL,
                demos_deployed INTEGER NOT NULL, videos_ready INTEGER NOT NULL, emails_sent INTEGER NOT NULL,
                ai_runs INTEGER NOT NULL, ai_spend NUMERIC NOT NULL',
    primary_key => 'bucket',
    bucket => 'bucket',
    bucket_seconds => 900,
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

-- Down Migration
-- Back to the open materialized views of 0023, re-made by each refresh. Refresh rows of folds are deleted (the
-- trigger CHECK of 0016 does not know them); the closed tables stay as they are.
DELETE FROM view_refreshes WHERE trigger = 'fold';
DROP INDEX view_refreshes_fold_idx;
ALTER TABLE view_refreshes DROP CONSTRAINT view_refreshes_trigger_check;
ALTER TABLE view_refreshes ADD CONSTRAINT view_refreshes_trigger_check
    CHECK (trigger IN ('migration', 'startup', 'schedule', 'admin', 'test', 'retention'));
DROP VIEW campaign_kpis_15m;
DROP TABLE campaign_kpis_15m_open;
DROP VIEW campaign_revenue_15m;
DROP TABLE campaign_revenue_15m_open;
DROP VIEW platform_kpis_15m;
DROP TABLE platform_kpis_15m_open;
DROP VIEW ai_gym_daily;
DROP TABLE ai_gym_daily_open;
DROP VIEW ai_gym_durations_daily;
DROP TABLE ai_gym_durations_daily_open;
DROP VIEW ai_gym_costs_daily;
DROP TABLE ai_gym_costs_daily_open;
DROP VIEW ab_variant_results;
DROP TABLE ab_variant_daily_open;
DROP PROCEDURE rollup_define(text, text, text, text, text, text[], text, text, text, boolean, integer);
ALTER TABLE rollups DROP COLUMN bucket_seconds;
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

DROP FUNCTION rollup_mark_lead_emails(uuid[], uuid[]);
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

DROP FUNCTION rollup_record(timestamp[], text[], uuid[]);
DROP TABLE rollup_open_changes;
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
