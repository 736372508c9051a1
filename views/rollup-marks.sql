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
-- closed. PL/pgSQL, not SQL, here and in rollup_mark_lead_emails (migration 0026): it keeps its statements' plans
-- for the session, where an SQL function's body is planned at every call (every row an email update marks).
CREATE OR REPLACE FUNCTION rollup_record(ats timestamp[], rollup_names text[], keys uuid[]) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
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
     WHERE d.at >= d.horizon AND isfinite(d.at);
END $$;

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
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM rollup_record(array_agg(e.sent_at), array_agg(m.rollup), array_agg(k.key))
      FROM (SELECT DISTINCT * FROM unnest(lead_ids, campaign_ids)) AS p(lead_id, campaign_id)
      JOIN email_sends e ON e.lead_id = p.lead_id AND e.campaign_id = p.campaign_id
     CROSS JOIN rollup_marks m
     CROSS JOIN LATERAL (SELECT rollup_mark_email_key(m.key_column, e.campaign_id, e.ab_test_id) AS key) AS k
     WHERE m.source = 'email_send_outcomes' AND e.sent_at IS NOT NULL AND (k.key IS NOT NULL OR m.key_column IS NULL);
END $$;

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
