-- Up Migration
-- Hours and days of the KPI rollups (issue 14 target 2): a 30-day overview read 96 rows a day from outreach_kpis_15m
-- and platform_kpis_15m (2,880 each, the most of its time), a campaign's KPIs as many from campaign_kpis_15m;
-- rollup_coarsen keeps their sums per whole UTC hour and day too (<rollup>_coarse, per campaign for the keyed one),
-- and a period now reads a day's row for each whole UTC day in it, an hour's for each whole hour left and 15-minute
-- buckets only at its edges. The machinery is views/rollup-machinery.sql's (its end), the calls the rollups' files'.

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

CALL rollup_coarsen('campaign_kpis_15m');
CALL rollup_coarsen('outreach_kpis_15m');
CALL rollup_coarsen('platform_kpis_15m');

-- Down Migration
DROP TRIGGER campaign_kpis_15m_closed_coarse_inserted ON campaign_kpis_15m_closed;
DROP TRIGGER campaign_kpis_15m_closed_coarse_deleted ON campaign_kpis_15m_closed;
DROP TRIGGER campaign_kpis_15m_closed_coarse_truncated ON campaign_kpis_15m_closed;
DROP TRIGGER campaign_kpis_15m_open_coarse_inserted ON campaign_kpis_15m_open;
DROP TRIGGER campaign_kpis_15m_open_coarse_deleted ON campaign_kpis_15m_open;
DROP TRIGGER campaign_kpis_15m_open_coarse_truncated ON campaign_kpis_15m_open;
DROP TABLE campaign_kpis_15m_coarse;
DROP TRIGGER outreach_kpis_15m_closed_coarse_inserted ON outreach_kpis_15m_closed;
DROP TRIGGER outreach_kpis_15m_closed_coarse_deleted ON outreach_kpis_15m_closed;
DROP TRIGGER outreach_kpis_15m_closed_coarse_truncated ON outreach_kpis_15m_closed;
DROP TRIGGER outreach_kpis_15m_open_coarse_inserted ON outreach_kpis_15m_open;
DROP TRIGGER outreach_kpis_15m_open_coarse_deleted ON outreach_kpis_15m_open;
DROP TRIGGER outreach_kpis_15m_open_coarse_truncated ON outreach_kpis_15m_open;
DROP TABLE outreach_kpis_15m_coarse;
DROP TRIGGER platform_kpis_15m_closed_coarse_inserted ON platform_kpis_15m_closed;
DROP TRIGGER platform_kpis_15m_closed_coarse_deleted ON platform_kpis_15m_closed;
DROP TRIGGER platform_kpis_15m_closed_coarse_truncated ON platform_kpis_15m_closed;
DROP TRIGGER platform_kpis_15m_open_coarse_inserted ON platform_kpis_15m_open;
DROP TRIGGER platform_kpis_15m_open_coarse_deleted ON platform_kpis_15m_open;
DROP TRIGGER platform_kpis_15m_open_coarse_truncated ON platform_kpis_15m_open;
DROP TABLE platform_kpis_15m_coarse;
DROP FUNCTION rollup_coarse_changed();
DROP FUNCTION rollup_coarse_sql(text, text, text);
DROP FUNCTION rollup_coarse_keys(text, text);
DROP PROCEDURE rollup_coarsen(text);
