-- Up Migration
-- Hours and days of the overview's rollups (issue 14 target 2): a period of the overview read 96 rows a day from
-- outreach_kpis_15m and platform_kpis_15m (2,880 for 30 days, the most of its time); rollup_coarsen keeps their sums
-- per whole UTC hour and day too (outreach_kpis_15m_coarse, platform_kpis_15m_coarse), and a period now reads a day's
-- row for each whole UTC day in it, an hour's for each whole hour left and 15-minute buckets only at its edges. The
-- machinery is views/rollup-machinery.sql's (its end), the calls the rollups' files'.

-- Coarser levels of an unkeyed rollup bucketed on `bucket` (issue 14 target 2): <name>_coarse holds its sums per
-- whole UTC hour (bucket_seconds 3600) and per whole UTC day (86400), its columns those of the rollup's view plus
-- bucket_seconds. A period then reads one row per whole UTC day in it, one per whole hour left, and the finer
-- buckets only at its edges (src/analytics/rollup-15m.ts), instead of 96 a day. Filled here from the view, and kept
-- equal to it by statement triggers on the closed and open tables (rollup_coarse_changed): every statement that
-- writes a bucket there re-sums that bucket's hour and day from the view — the same sums of the same rows, never
-- deltas. Call it after the rollup's rollup_define (which recreates the open table, and so drops its triggers).
CREATE PROCEDURE rollup_coarsen(name text)
LANGUAGE plpgsql AS $$
DECLARE
    here text := current_schema();
    p text;
    coarse text := name || '_coarse';
    not_null text;
    part text;
BEGIN
    SELECT r.parts INTO p FROM rollups r WHERE r.rollup = name AND r.bucket = 'bucket' AND r.key_column IS NULL;
    IF p IS NULL THEN
        RAISE EXCEPTION 'rollup_coarsen: % is not an unkeyed rollup on a bucket column', name;
    END IF;
    EXECUTE format('DROP TABLE IF EXISTS %I.%I', here, coarse);
    EXECUTE format('CREATE TABLE %I.%I AS SELECT v.*, 0 AS bucket_seconds FROM %I.%I v WITH NO DATA',
                   here, coarse, here, name);
    SELECT string_agg(format('ALTER COLUMN %I SET NOT NULL', a.attname), ', ' ORDER BY a.attnum) INTO not_null
      FROM pg_attribute a
     WHERE a.attrelid = format('%I.%I', here, coarse)::regclass AND a.attnum > 0 AND NOT a.attisdropped;
    EXECUTE format('ALTER TABLE %I.%I %s, ADD PRIMARY KEY (bucket_seconds, bucket)', here, coarse, not_null);
    PERFORM rollup_coarse_resum(here, name, NULL, NULL);
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

-- Rewrites the coarse rows of rollup `name` in `schema` for the hours and days (bucket_seconds, bucket) given, or
-- all of them when they are NULL: the view's columns summed over the bucket's span, then bucket_seconds. A span
-- with no bucket left has no row.
CREATE FUNCTION rollup_coarse_resum(schema text, name text, spans integer[], starts timestamp[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    sums text;
    touched text := CASE WHEN spans IS NULL
                         THEN format('SELECT DISTINCT w.s AS bucket_seconds, date_bin(make_interval(secs => w.s), '
                                     'v.bucket, TIMESTAMP ''2000-01-01'') AS bucket FROM %I.%I v '
                                     'CROSS JOIN (VALUES (3600), (86400)) AS w(s)', schema, name)
                         ELSE 'SELECT DISTINCT * FROM unnest($1, $2) AS t(bucket_seconds, bucket)' END;
BEGIN
    SELECT string_agg(CASE a.attname WHEN 'bucket' THEN 't.bucket' ELSE format('sum(v.%I)', a.attname) END, ', '
                      ORDER BY a.attnum)
      INTO sums
      FROM pg_attribute a
     WHERE a.attrelid = format('%I.%I', schema, name)::regclass AND a.attnum > 0 AND NOT a.attisdropped;
    IF spans IS NULL THEN
        EXECUTE format('DELETE FROM %I.%I', schema, name || '_coarse');
    ELSE
        EXECUTE format('DELETE FROM %I.%I k USING unnest($1, $2) AS t(bucket_seconds, bucket) '
                       'WHERE k.bucket_seconds = t.bucket_seconds AND k.bucket = t.bucket', schema, name || '_coarse')
          USING spans, starts;
    END IF;
    EXECUTE format('INSERT INTO %I.%I SELECT %s, t.bucket_seconds FROM (%s) AS t JOIN %I.%I v '
                   'ON v.bucket >= t.bucket AND v.bucket < t.bucket + make_interval(secs => t.bucket_seconds) '
                   'GROUP BY t.bucket_seconds, t.bucket',
                   schema, name || '_coarse', sums, touched, schema, name)
      USING spans, starts;
END $$;

-- rollup_coarsen's trigger (argument: the rollup): re-sums the hours and days of the buckets the statement wrote
-- (`changed`, its transition table), or all of them after a TRUNCATE.
CREATE FUNCTION rollup_coarse_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    spans integer[];
    starts timestamp[];
BEGIN
    IF TG_OP <> 'TRUNCATE' THEN
        SELECT array_agg(t.s), array_agg(t.bucket) INTO spans, starts
          FROM (SELECT DISTINCT w.s, date_bin(make_interval(secs => w.s), c.bucket, TIMESTAMP '2000-01-01') AS bucket
                  FROM changed c CROSS JOIN (VALUES (3600), (86400)) AS w(s)) AS t;
        IF spans IS NULL THEN
            RETURN NULL;
        END IF;
    END IF;
    PERFORM rollup_coarse_resum(TG_TABLE_SCHEMA, TG_ARGV[0], spans, starts);
    RETURN NULL;
END $$;

CALL rollup_coarsen('outreach_kpis_15m');
CALL rollup_coarsen('platform_kpis_15m');

-- Down Migration
DROP TABLE outreach_kpis_15m_coarse;
DROP TABLE platform_kpis_15m_coarse;
DROP TRIGGER outreach_kpis_15m_closed_coarse_inserted ON outreach_kpis_15m_closed;
DROP TRIGGER outreach_kpis_15m_closed_coarse_deleted ON outreach_kpis_15m_closed;
DROP TRIGGER outreach_kpis_15m_closed_coarse_truncated ON outreach_kpis_15m_closed;
DROP TRIGGER outreach_kpis_15m_open_coarse_inserted ON outreach_kpis_15m_open;
DROP TRIGGER outreach_kpis_15m_open_coarse_deleted ON outreach_kpis_15m_open;
DROP TRIGGER outreach_kpis_15m_open_coarse_truncated ON outreach_kpis_15m_open;
DROP TRIGGER platform_kpis_15m_closed_coarse_inserted ON platform_kpis_15m_closed;
DROP TRIGGER platform_kpis_15m_closed_coarse_deleted ON platform_kpis_15m_closed;
DROP TRIGGER platform_kpis_15m_closed_coarse_truncated ON platform_kpis_15m_closed;
DROP TRIGGER platform_kpis_15m_open_coarse_inserted ON platform_kpis_15m_open;
DROP TRIGGER platform_kpis_15m_open_coarse_deleted ON platform_kpis_15m_open;
DROP TRIGGER platform_kpis_15m_open_coarse_truncated ON platform_kpis_15m_open;
DROP FUNCTION rollup_coarse_changed();
DROP FUNCTION rollup_coarse_resum(text, text, integer[], timestamp[]);
DROP PROCEDURE rollup_coarsen(text);
