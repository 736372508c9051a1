-- Up Migration
-- Monthly partition maintenance for the range-partitioned tables (email_sends, ai_gym_performance; §6 and §8).
--
-- reachgraph_ensure_monthly_partitions(parent, from, to) creates <parent>_pYYYY_MM for every month in [from, to].
-- A month whose rows already sit in the DEFAULT partition cannot be created with PARTITION OF (PostgreSQL refuses),
-- so such rows are moved: the new table is created standalone, the rows are moved out of the default partition and
-- the table is attached. That path takes an ACCESS EXCLUSIVE lock on the default partition for the move; the normal
-- path (a future month, nothing in default) only briefly locks the parent. Every call is idempotent: safe to run at
-- every start-up and on a schedule, and safe to re-run after a failure (each call runs in one transaction).
--
-- reachgraph_ensure_partitions(months_back, months_ahead) does that for every partitioned table in the current
-- schema, around the current UTC month.
--
-- reachgraph_drop_partitions_before(parent, before) drops monthly partitions that end on or before `before`: the
-- retention purge (§8) as a metadata operation instead of a mass DELETE.

CREATE FUNCTION reachgraph_ensure_monthly_partitions(p_parent regclass, p_from date, p_to date)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    v_schema text;
    v_table text;
    v_key text;
    v_default regclass;
    v_month date := date_trunc('month', p_from)::date;
    v_next date;
    v_name text;
    v_has_rows boolean;
    v_created integer := 0;
BEGIN
    SELECT n.nspname, c.relname INTO v_schema, v_table
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid = p_parent;

    SELECT a.attname INTO v_key
    FROM pg_partitioned_table pt
    JOIN pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = pt.partattrs[0]
    WHERE pt.partrelid = p_parent AND pt.partstrat = 'r';
    IF v_key IS NULL THEN
        RAISE EXCEPTION '% is not a range-partitioned table', p_parent;
    END IF;

    SELECT i.inhrelid::regclass INTO v_default
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = p_parent AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT';

    WHILE v_month <= p_to LOOP
        v_next := (v_month + interval '1 month')::date;
        v_name := format('%s_p%s', v_table, to_char(v_month, 'YYYY_MM'));
        IF to_regclass(format('%I.%I', v_schema, v_name)) IS NULL THEN
            v_has_rows := false;
            IF v_default IS NOT NULL THEN
                EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE %I >= $1 AND %I < $2)', v_default, v_key, v_key)
                    INTO v_has_rows USING v_month, v_next;
            END IF;
            IF v_has_rows THEN
                EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', v_default);
                EXECUTE format('CREATE TABLE %I.%I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                    v_schema, v_name, p_parent);
                EXECUTE format(
                    'WITH moved AS (DELETE FROM %s WHERE %I >= $1 AND %I < $2 RETURNING *) INSERT INTO %I.%I SELECT * FROM moved',
                    v_default, v_key, v_key, v_schema, v_name) USING v_month, v_next;
                EXECUTE format('ALTER TABLE %s ATTACH PARTITION %I.%I FOR VALUES FROM (%L) TO (%L)',
                    p_parent, v_schema, v_name, v_month, v_next);
            ELSE
                EXECUTE format('CREATE TABLE %I.%I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                    v_schema, v_name, p_parent, v_month, v_next);
            END IF;
            v_created := v_created + 1;
        END IF;
        v_month := v_next;
    END LOOP;
    RETURN v_created;
END
$$;

CREATE FUNCTION reachgraph_ensure_partitions(p_months_back integer DEFAULT 1, p_months_ahead integer DEFAULT 3)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    v_this_month date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
    v_parent regclass;
    v_created integer := 0;
BEGIN
    FOR v_parent IN
        SELECT pt.partrelid::regclass
        FROM pg_partitioned_table pt
        JOIN pg_class c ON c.oid = pt.partrelid
        WHERE c.relnamespace = current_schema()::regnamespace AND NOT c.relispartition AND pt.partstrat = 'r'
        ORDER BY c.relname
    LOOP
        v_created := v_created + reachgraph_ensure_monthly_partitions(
            v_parent,
            (v_this_month - make_interval(months => p_months_back))::date,
            (v_this_month + make_interval(months => p_months_ahead))::date);
    END LOOP;
    RETURN v_created;
END
$$;

CREATE FUNCTION reachgraph_drop_partitions_before(p_parent regclass, p_before date)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    v_partition record;
    v_dropped integer := 0;
BEGIN
    FOR v_partition IN
        SELECT i.inhrelid::regclass AS rel, c.relname
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = p_parent AND c.relname ~ '_p\d{4}_\d{2}$'
    LOOP
        IF (to_date(right(v_partition.relname, 7), 'YYYY_MM') + interval '1 month')::date <= p_before THEN
            EXECUTE format('DROP TABLE %s', v_partition.rel);
            v_dropped := v_dropped + 1;
        END IF;
    END LOOP;
    RETURN v_dropped;
END
$$;

SELECT reachgraph_ensure_partitions(1, 3);

-- Down Migration
-- Monthly partitions are kept: their rows belong to the parent tables, which earlier migrations' downs drop.
DROP FUNCTION reachgraph_drop_partitions_before(regclass, date);
DROP FUNCTION reachgraph_ensure_partitions(integer, integer);
DROP FUNCTION reachgraph_ensure_monthly_partitions(regclass, date, date);
