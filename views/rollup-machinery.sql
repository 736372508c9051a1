-- The rollup machinery (views/README.md "Declaring a rollup"). A rollup is one declaration, CALL rollup_define(...)
-- in views/<rollup>.sql: its closed table's columns and key, its time column, the aggregate of [lo, hi) and the
-- base-table columns whose writes can change it. From it rollup_define makes the four parts — the <parts>_between
-- function, the <parts>_closed table (filled with the history before the horizon when new; kept, and checked
-- against the declaration, when it exists: it holds the record of sealed days), the <parts>_open table of the
-- buckets from the horizon on (filled at once, then kept exact by the fold: src/analytics/fold-open-changes.ts), and
-- the view readers use — records the rollup in `rollups` (which src/analytics/refresh-views.ts refreshes) and its
-- marks in `rollup_marks` (which the mark triggers of views/rollup-marks.sql read), and puts the mark triggers on
-- every table it names. Calling it again for the same rollup redefines it (a changed aggregate needs a recount:
-- insert a '-infinity' mark for it).

-- The rollups the refresh maintains, by the name of the view readers use (the name marks and view_refreshes
-- carry). `bucket_seconds` is the width of a bucket: a write in the open window records the bucket of its row
-- (rollup_open_changes), and the fold recounts [bucket, bucket + width) — a whole bucket, so the width must divide
-- a UTC day (the horizon is a day boundary).
CREATE TABLE rollups (
    rollup VARCHAR(63) PRIMARY KEY,
    parts VARCHAR(63) NOT NULL UNIQUE,
    bucket VARCHAR(63) NOT NULL,
    key_column VARCHAR(63),
    bucket_seconds INTEGER NOT NULL DEFAULT 86400 CHECK (bucket_seconds > 0 AND 86400 % bucket_seconds = 0)
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

-- Coarser levels of a rollup bucketed on `bucket` (issue 14 target 2): <name>_coarse holds its sums per whole UTC
-- hour (bucket_seconds 3600) and per whole UTC day (86400) for each value of the closed table's other key columns
-- (the campaign, the currency), its columns those of the rollup's view plus bucket_seconds. A period then reads one
-- row per whole UTC day in it, one per whole hour left, and the finer buckets only at its edges
-- (src/analytics/rollup-15m.ts), instead of 96 a day. Filled here from the view, and kept equal to it by statement
-- triggers on the closed and open tables (rollup_coarse_changed): every statement that writes a bucket there
-- re-sums that bucket's hour and day (of its key) from the view — the same sums of the same rows, never deltas. Call
-- it after the rollup's rollup_define (which recreates the open table, and so drops its triggers).
CREATE PROCEDURE rollup_coarsen(name text)
LANGUAGE plpgsql AS $$
DECLARE
    here text := current_schema();
    p text;
    coarse text := name || '_coarse';
    not_null text;
    key_columns text;
    statements text[];
    part text;
BEGIN
    SELECT r.parts INTO p FROM rollups r WHERE r.rollup = name AND r.bucket = 'bucket';
    IF p IS NULL THEN
        RAISE EXCEPTION 'rollup_coarsen: % is not a rollup on a bucket column', name;
    END IF;
    EXECUTE format('DROP TABLE IF EXISTS %I.%I', here, coarse);
    EXECUTE format('CREATE TABLE %I.%I AS SELECT v.*, 0 AS bucket_seconds FROM %I.%I v WITH NO DATA',
                   here, coarse, here, name);
    SELECT string_agg(format('ALTER COLUMN %I SET NOT NULL', a.attname), ', ' ORDER BY a.attnum) INTO not_null
      FROM pg_attribute a
     WHERE a.attrelid = format('%I.%I', here, coarse)::regclass AND a.attnum > 0 AND NOT a.attisdropped;
    key_columns := array_to_string(rollup_coarse_keys(here, p), ', ');
    EXECUTE format('ALTER TABLE %I.%I %s, ADD PRIMARY KEY (bucket_seconds, %s)', here, coarse, not_null, key_columns);
    IF key_columns <> 'bucket' THEN
        EXECUTE format('CREATE INDEX %I ON %I.%I (bucket_seconds, bucket)', coarse || '_bucket_idx', here, coarse);
    END IF;
    statements := rollup_coarse_sql(here, name, NULL);
    EXECUTE statements[2];
    FOREACH part IN ARRAY ARRAY[p || '_closed', p || '_open'] LOOP
        EXECUTE format('CREATE OR REPLACE TRIGGER %I AFTER INSERT ON %I.%I REFERENCING NEW TABLE AS changed '
                       'FOR EACH STATEMENT EXECUTE FUNCTION rollup_coarse_changed(%L)',
                       part || '_coarse_inserted', here, part, name);
        EXECUTE format('CREATE OR REPLACE TRIGGER %I AFTER DELETE ON %I.%I REFERENCING OLD TABLE AS changed '
                       'FOR EACH STATEMENT EXECUTE FUNCTION rollup_coarse_changed(%L)',
                       part || '_coarse_deleted', here, part, name);
        EXECUTE format('CREATE OR REPLACE TRIGGER %I AFTER TRUNCATE ON %I.%I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION rollup_coarse_changed(%L)',
                       part || '_coarse_truncated', here, part, name);
    END LOOP;
END $$;

-- The primary key columns of the rollup's closed table `<parts>_closed` in `schema`, in order (bucket among them).
CREATE FUNCTION rollup_coarse_keys(schema text, parts text) RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT array_agg(a.attname::text ORDER BY k.ord)
      FROM pg_constraint c
     CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
     WHERE c.conrelid = format('%I.%I', schema, parts || '_closed')::regclass AND c.contype = 'p'
$$;

-- The two statements that rewrite the coarse rows of rollup `name` in `schema`: a DELETE and an INSERT of the hours
-- and days `touched` names — a query of (bucket_seconds, bucket, and the other key columns) rows — or, when it is
-- NULL, a DELETE of them all and an INSERT of every hour and day of the view. An hour or day with no bucket left has
-- no row. The caller runs them (the trigger, where `touched` reads its transition table). The INSERT matches the
-- view's rows to the touched spans by equality (a hash join for a long statement's many spans) and by range (an
-- index range read per span for a fold's few).
CREATE FUNCTION rollup_coarse_sql(schema text, name text, touched text) RETURNS text[]
LANGUAGE plpgsql STABLE AS $$
DECLARE
    keys text[] := rollup_coarse_keys(schema, (SELECT r.parts FROM rollups r WHERE r.rollup = name));
    span text := 'date_bin(make_interval(secs => w.s), v.bucket, TIMESTAMP ''2000-01-01'')';
    columns text;
    groups text;
    matches text;
BEGIN
    SELECT string_agg(CASE WHEN a.attname = 'bucket' THEN span
                           WHEN a.attname = ANY (keys) THEN format('v.%I', a.attname)
                           ELSE format('sum(v.%I)', a.attname) END, ', ' ORDER BY a.attnum)
      INTO columns
      FROM pg_attribute a
     WHERE a.attrelid = format('%I.%I', schema, name)::regclass AND a.attnum > 0 AND NOT a.attisdropped;
    SELECT string_agg(CASE k WHEN 'bucket' THEN span ELSE format('v.%I', k) END, ', '),
           string_agg(CASE k WHEN 'bucket' THEN format('AND t.bucket = %s AND v.bucket >= t.bucket AND v.bucket < '
                                                       't.bucket + make_interval(secs => t.bucket_seconds)', span)
                             ELSE format('AND t.%I = v.%I', k, k) END, ' ')
      INTO groups, matches
      FROM unnest(keys) AS k;
    RETURN ARRAY[
        CASE WHEN touched IS NULL THEN format('DELETE FROM %I.%I', schema, name || '_coarse')
             ELSE format('DELETE FROM %I.%I k USING (%s) AS t WHERE k.bucket_seconds = t.bucket_seconds %s',
                         schema, name || '_coarse', touched,
                         (SELECT string_agg(format('AND k.%I = t.%I', c, c), ' ') FROM unnest(keys) AS c)) END,
        format('INSERT INTO %I.%I SELECT %s, w.s FROM %I.%I v CROSS JOIN (VALUES (3600), (86400)) AS w(s) %s '
               'GROUP BY w.s, %s',
               schema, name || '_coarse', columns, schema, name,
               CASE WHEN touched IS NULL THEN ''
                    ELSE format('JOIN (%s) AS t ON t.bucket_seconds = w.s %s', touched, matches) END,
               groups)];
END $$;

-- rollup_coarsen's trigger (argument: the rollup): re-sums the hours and days of the buckets (and keys) the
-- statement wrote — `changed`, its transition table — or all of them after a TRUNCATE.
CREATE FUNCTION rollup_coarse_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    statements text[];
    others text;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        statements := rollup_coarse_sql(TG_TABLE_SCHEMA, TG_ARGV[0], NULL);
    ELSE
        SELECT string_agg(format(', c.%I', k), '') INTO others
          FROM unnest(rollup_coarse_keys(TG_TABLE_SCHEMA, (SELECT r.parts FROM rollups r WHERE r.rollup = TG_ARGV[0])))
               AS k
         WHERE k <> 'bucket';
        statements := rollup_coarse_sql(TG_TABLE_SCHEMA, TG_ARGV[0],
            format('SELECT DISTINCT w.s AS bucket_seconds, date_bin(make_interval(secs => w.s), c.bucket, '
                   'TIMESTAMP ''2000-01-01'') AS bucket%s FROM changed c CROSS JOIN (VALUES (3600), (86400)) AS w(s)',
                   COALESCE(others, '')));
    END IF;
    EXECUTE statements[1];
    EXECUTE statements[2];
    RETURN NULL;
END $$;
