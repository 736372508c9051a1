-- Up Migration
-- Read side, incremental (issue 4: "refresh cost should not grow with total history"). Each rollup of 0010 becomes
-- four parts (views/README.md): <rollup>_between(lo, hi) computes the buckets of [lo, hi) from the base tables;
-- <rollup>_closed holds the buckets before the rollup horizon; <rollup>_open is the materialized view of the
-- buckets from the horizon on; <rollup> (the name readers always used) is both. A refresh moves the horizon up to a
-- few days before now, writes the days it passed into the closed tables, rewrites the closed days that writes have
-- touched since (rollup_dirty_days, kept by the triggers below) and refreshes the open views concurrently. So its
-- cost follows the open window and the changes, not the history. The view definitions are copies of views/.

-- The rollups of 0010 give way to their incremental form (same names and columns for readers).
DROP MATERIALIZED VIEW ab_variant_results, ai_gym_durations_daily, ai_gym_daily, platform_kpis_15m,
    campaign_revenue_15m, campaign_kpis_15m;
DROP VIEW email_send_outcomes;

-- The rollup horizon: buckets before `horizon` live in the *_closed tables, the rest in the *_open views.
-- `mark_below` runs ahead of it while a refresh moves it: writes to days before it are recorded as dirty. A refresh
-- moves the horizon to the start of the UTC day `open_days` before now (never back): the open window should cover
-- the days in which most opens, replies and meetings still arrive, since a write to a closed day costs a recount
-- of that day.
CREATE TABLE rollup_horizon (
    only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
    horizon TIMESTAMP NOT NULL,
    mark_below TIMESTAMP NOT NULL,
    open_days INTEGER NOT NULL DEFAULT 14 CHECK (open_days BETWEEN 1 AND 366),
    CHECK (mark_below >= horizon)
);
INSERT INTO rollup_horizon (horizon, mark_below) VALUES ('-infinity', '-infinity');

-- UTC days before the horizon that writes changed since the last refresh ('-infinity': everything, after a
-- TRUNCATE). Append-only for writers; the refresh deletes the rows it has processed.
CREATE TABLE rollup_dirty_days (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    day DATE NOT NULL,
    marked_at TIMESTAMP NOT NULL DEFAULT NOW()
);

-- Range reads of the rollups' time columns.
CREATE INDEX email_sends_sent_at_idx ON email_sends (sent_at);
CREATE INDEX website_analyses_completed_at_idx ON website_analyses (completed_at);
CREATE INDEX demo_sites_deployed_at_idx ON demo_sites (deployed_at);
CREATE INDEX videos_created_at_idx ON videos (created_at);
CREATE INDEX deals_won_at_idx ON deals (won_at);

-- The triggers: statement-level, over the changed rows (`changed` is the new rows of an INSERT or UPDATE and the
-- old rows of an UPDATE or DELETE, one trigger each; email updates have a row trigger, below), recording the days
-- before mark_below whose buckets the change can move. A write to the open window (nearly all of them) records
-- nothing.
CREATE FUNCTION rollup_mark_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rollup_dirty_days (day) VALUES ('-infinity');
    RETURN NULL;
END $$;

-- Platform activity, revenue and AI-GYM: the day of the row's own time column (one function per column name).
CREATE FUNCTION rollup_mark_created_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rollup_dirty_days (day)
    SELECT DISTINCT c.created_at::date FROM changed c, rollup_horizon h WHERE c.created_at < h.mark_below;
    RETURN NULL;
END $$;
CREATE FUNCTION rollup_mark_completed_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rollup_dirty_days (day)
    SELECT DISTINCT c.completed_at::date FROM changed c, rollup_horizon h WHERE c.completed_at < h.mark_below;
    RETURN NULL;
END $$;
CREATE FUNCTION rollup_mark_deployed_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rollup_dirty_days (day)
    SELECT DISTINCT c.deployed_at::date FROM changed c, rollup_horizon h WHERE c.deployed_at < h.mark_below;
    RETURN NULL;
END $$;
CREATE FUNCTION rollup_mark_won_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rollup_dirty_days (day)
    SELECT DISTINCT c.won_at::date FROM changed c, rollup_horizon h WHERE c.won_at < h.mark_below;
    RETURN NULL;
END $$;

-- An email inserted or deleted: its queued and sent days and, when it was sent before mark_below, the sent days of
-- the lead's other emails in the campaign (which one is the first touch, credited with the meeting, can change).
CREATE FUNCTION rollup_mark_email_sends() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rollup_dirty_days (day)
    SELECT DISTINCT d.at::date
      FROM rollup_horizon h,
           LATERAL (SELECT c.created_at FROM changed c
                    UNION ALL SELECT c.sent_at FROM changed c
                    UNION ALL SELECT e.sent_at
                      FROM changed c
                      JOIN email_sends e ON e.lead_id = c.lead_id AND e.campaign_id = c.campaign_id
                     WHERE c.sent_at < h.mark_below) AS d(at)
     WHERE d.at < h.mark_below;
    RETURN NULL;
END $$;
-- mark_below, read afresh (VOLATILE: a new snapshot, taken after the calling write got its transaction id).
CREATE FUNCTION rollup_mark_below() RETURNS timestamp LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN (SELECT mark_below FROM rollup_horizon);
END $$;
-- An email updated: a row trigger whose WHEN skips the open window without running any function body (the hot
-- paths — sending, opens, clicks — update recent emails). For a closed email: its days, and the lead's other
-- emails' sent days when status, sent_at, lead or campaign changed (the first touch can move).
CREATE FUNCTION rollup_mark_email_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    below timestamp := rollup_mark_below();
BEGIN
    INSERT INTO rollup_dirty_days (day)
    SELECT DISTINCT d.at::date
      FROM unnest(ARRAY[OLD.created_at, OLD.sent_at, NEW.created_at, NEW.sent_at]) AS d(at)
     WHERE d.at < below;
    IF (OLD.status IS DISTINCT FROM NEW.status OR OLD.sent_at IS DISTINCT FROM NEW.sent_at
        OR OLD.lead_id IS DISTINCT FROM NEW.lead_id OR OLD.campaign_id IS DISTINCT FROM NEW.campaign_id)
       AND least(OLD.sent_at, NEW.sent_at) < below THEN
        INSERT INTO rollup_dirty_days (day)
        SELECT DISTINCT e.sent_at::date
          FROM email_sends e
         WHERE ((e.lead_id = OLD.lead_id AND e.campaign_id = OLD.campaign_id)
                OR (e.lead_id = NEW.lead_id AND e.campaign_id = NEW.campaign_id))
           AND e.sent_at < below;
    END IF;
    RETURN NULL;
END $$;

-- Meetings and conversations: the sent days of the lead's emails in the campaign (meeting credit, positive reply).
CREATE FUNCTION rollup_mark_lead_campaign() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rollup_dirty_days (day)
    SELECT DISTINCT e.sent_at::date
      FROM changed c
      JOIN email_sends e ON e.lead_id = c.lead_id AND e.campaign_id = c.campaign_id
     CROSS JOIN rollup_horizon h
     WHERE e.sent_at < h.mark_below;
    RETURN NULL;
END $$;

-- Messages: positive inbound ones, as their conversation.
CREATE FUNCTION rollup_mark_conversation_messages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rollup_dirty_days (day)
    SELECT DISTINCT e.sent_at::date
      FROM changed c
      JOIN conversations cv ON cv.id = c.conversation_id
      JOIN email_sends e ON e.lead_id = cv.lead_id AND e.campaign_id = cv.campaign_id
     CROSS JOIN rollup_horizon h
     WHERE c.direction = 'inbound' AND c.sentiment = 'positive' AND e.sent_at < h.mark_below;
    RETURN NULL;
END $$;

CREATE TRIGGER email_sends_rollup_inserted AFTER INSERT ON email_sends REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_email_sends();
CREATE TRIGGER email_sends_rollup_updated AFTER UPDATE ON email_sends FOR EACH ROW
    WHEN (least(OLD.created_at, OLD.sent_at, NEW.created_at, NEW.sent_at) < rollup_mark_below())
    EXECUTE FUNCTION rollup_mark_email_update();
CREATE TRIGGER email_sends_rollup_deleted AFTER DELETE ON email_sends REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_email_sends();
CREATE TRIGGER email_sends_rollup_truncated AFTER TRUNCATE ON email_sends FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_all();
CREATE TRIGGER meetings_rollup_inserted AFTER INSERT ON meetings REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_lead_campaign();
CREATE TRIGGER meetings_rollup_updated_new AFTER UPDATE ON meetings REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_lead_campaign();
CREATE TRIGGER meetings_rollup_updated_old AFTER UPDATE ON meetings REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_lead_campaign();
CREATE TRIGGER meetings_rollup_deleted AFTER DELETE ON meetings REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_lead_campaign();
CREATE TRIGGER meetings_rollup_truncated AFTER TRUNCATE ON meetings FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_all();
CREATE TRIGGER conversations_rollup_inserted AFTER INSERT ON conversations REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_lead_campaign();
CREATE TRIGGER conversations_rollup_updated_new AFTER UPDATE ON conversations REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_lead_campaign();
CREATE TRIGGER conversations_rollup_updated_old AFTER UPDATE ON conversations REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_lead_campaign();
CREATE TRIGGER conversations_rollup_deleted AFTER DELETE ON conversations REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_lead_campaign();
CREATE TRIGGER conversations_rollup_truncated AFTER TRUNCATE ON conversations FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_all();
CREATE TRIGGER conversation_messages_rollup_inserted AFTER INSERT ON conversation_messages REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_conversation_messages();
CREATE TRIGGER conversation_messages_rollup_updated_new AFTER UPDATE ON conversation_messages REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_conversation_messages();
CREATE TRIGGER conversation_messages_rollup_updated_old AFTER UPDATE ON conversation_messages REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_conversation_messages();
CREATE TRIGGER conversation_messages_rollup_deleted AFTER DELETE ON conversation_messages REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_conversation_messages();
CREATE TRIGGER conversation_messages_rollup_truncated AFTER TRUNCATE ON conversation_messages FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_all();
CREATE TRIGGER deals_rollup_inserted AFTER INSERT ON deals REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_won_at();
CREATE TRIGGER deals_rollup_updated_new AFTER UPDATE ON deals REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_won_at();
CREATE TRIGGER deals_rollup_updated_old AFTER UPDATE ON deals REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_won_at();
CREATE TRIGGER deals_rollup_deleted AFTER DELETE ON deals REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_won_at();
CREATE TRIGGER deals_rollup_truncated AFTER TRUNCATE ON deals FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_all();
CREATE TRIGGER leads_rollup_inserted AFTER INSERT ON leads REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_created_at();
CREATE TRIGGER leads_rollup_updated_new AFTER UPDATE ON leads REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_created_at();
CREATE TRIGGER leads_rollup_updated_old AFTER UPDATE ON leads REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_created_at();
CREATE TRIGGER leads_rollup_deleted AFTER DELETE ON leads REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_created_at();
CREATE TRIGGER leads_rollup_truncated AFTER TRUNCATE ON leads FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_all();
CREATE TRIGGER website_analyses_rollup_inserted AFTER INSERT ON website_analyses REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_completed_at();
CREATE TRIGGER website_analyses_rollup_updated_new AFTER UPDATE ON website_analyses REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_completed_at();
CREATE TRIGGER website_analyses_rollup_updated_old AFTER UPDATE ON website_analyses REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_completed_at();
CREATE TRIGGER website_analyses_rollup_deleted AFTER DELETE ON website_analyses REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_completed_at();
CREATE TRIGGER website_analyses_rollup_truncated AFTER TRUNCATE ON website_analyses FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_all();
CREATE TRIGGER demo_sites_rollup_inserted AFTER INSERT ON demo_sites REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_deployed_at();
CREATE TRIGGER demo_sites_rollup_updated_new AFTER UPDATE ON demo_sites REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_deployed_at();
CREATE TRIGGER demo_sites_rollup_updated_old AFTER UPDATE ON demo_sites REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_deployed_at();
CREATE TRIGGER demo_sites_rollup_deleted AFTER DELETE ON demo_sites REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_deployed_at();
CREATE TRIGGER demo_sites_rollup_truncated AFTER TRUNCATE ON demo_sites FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_all();
CREATE TRIGGER videos_rollup_inserted AFTER INSERT ON videos REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_created_at();
CREATE TRIGGER videos_rollup_updated_new AFTER UPDATE ON videos REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_created_at();
CREATE TRIGGER videos_rollup_updated_old AFTER UPDATE ON videos REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_created_at();
CREATE TRIGGER videos_rollup_deleted AFTER DELETE ON videos REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_created_at();
CREATE TRIGGER videos_rollup_truncated AFTER TRUNCATE ON videos FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_all();
CREATE TRIGGER ai_gym_performance_rollup_inserted AFTER INSERT ON ai_gym_performance REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_created_at();
CREATE TRIGGER ai_gym_performance_rollup_updated_new AFTER UPDATE ON ai_gym_performance REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_created_at();
CREATE TRIGGER ai_gym_performance_rollup_updated_old AFTER UPDATE ON ai_gym_performance REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_created_at();
CREATE TRIGGER ai_gym_performance_rollup_deleted AFTER DELETE ON ai_gym_performance REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_created_at();
CREATE TRIGGER ai_gym_performance_rollup_truncated AFTER TRUNCATE ON ai_gym_performance FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_all();

-- views/email_send_outcomes.sql
-- One row per email with the outcomes the KPI contract counts (README "KPI definitions"). A plain view: the rollups
-- below aggregate it, so the rules live in one place. Every outcome is a lookup on indexes of the email's own lead
-- and campaign, so a range of sent_at reads only the emails in it.
--   sent       = status sent or bounced (queued, sending and failed emails are not sent), counted on sent_at
--   delivered  = sent and not bounced
--   opened / clicked / replied = delivered with the timestamp set
--   positive_reply = replied, and the lead answered in a thread of this campaign (for this email, or not tied to
--                    one) with an inbound message of sentiment 'positive'
--   meeting_booked = first touch: a lead's meeting in a campaign is credited once, to the lead's first delivered
--                    email of that campaign (earliest sent_at, then id), when a meeting was booked at or after it
CREATE VIEW email_send_outcomes AS
SELECT s.id,
       s.created_at,
       s.campaign_id,
       s.ab_test_id,
       s.ab_variant,
       s.lead_id,
       s.sent_at,
       (s.sent_at IS NOT NULL AND s.status IN ('sent', 'bounced')) AS sent,
       (s.sent_at IS NOT NULL AND s.status = 'bounced') AS bounced,
       (s.sent_at IS NOT NULL AND s.status = 'sent') AS delivered,
       (s.sent_at IS NOT NULL AND s.status = 'sent' AND s.opened_at IS NOT NULL) AS opened,
       (s.sent_at IS NOT NULL AND s.status = 'sent' AND s.clicked_at IS NOT NULL) AS clicked,
       (s.sent_at IS NOT NULL AND s.status = 'sent' AND s.replied_at IS NOT NULL) AS replied,
       (s.sent_at IS NOT NULL AND s.status = 'sent' AND s.replied_at IS NOT NULL AND EXISTS (
            SELECT 1
              FROM conversations c
              JOIN conversation_messages m ON m.conversation_id = c.id
             WHERE c.lead_id = s.lead_id AND c.campaign_id = s.campaign_id
               AND (c.email_send_id IS NULL OR c.email_send_id = s.id)
               AND m.direction = 'inbound' AND m.sentiment = 'positive')) AS positive_reply,
       (s.sent_at IS NOT NULL AND s.status = 'sent' AND s.lead_id IS NOT NULL AND s.campaign_id IS NOT NULL
        AND NOT EXISTS (
            SELECT 1 FROM email_sends e
             WHERE e.lead_id = s.lead_id AND e.campaign_id = s.campaign_id
               AND e.status = 'sent' AND e.sent_at IS NOT NULL AND (e.sent_at, e.id) < (s.sent_at, s.id))
        AND EXISTS (
            SELECT 1 FROM meetings m
             WHERE m.lead_id = s.lead_id AND m.campaign_id = s.campaign_id AND m.booked_at >= s.sent_at))
         AS meeting_booked
  FROM email_sends s;

-- views/campaign_kpis_15m.sql
-- Campaign funnel per campaign × 15-minute UTC bucket (spec §9: reply rate, meeting booking rate). Emails count in
-- the bucket they were sent (queued: the bucket they were queued). 15 minutes is the finest UTC offset step of any
-- time zone, so a day, week or month in any IANA zone is an exact sum of buckets.
--
-- Like every rollup here it has four parts (views/README.md): campaign_kpis_15m_between(lo, hi), the aggregate of
-- the buckets in [lo, hi) straight from the base tables; campaign_kpis_15m_closed, the buckets before the rollup
-- horizon, rewritten only for the days that changed; campaign_kpis_15m_open, the materialized view of the buckets
-- from the horizon on; and campaign_kpis_15m, the view readers use, which is both.
-- (The functions pin search_path: since PostgreSQL 17, REFRESH runs them with only pg_catalog on it.)
CREATE FUNCTION campaign_kpis_15m_between(lo timestamp, hi timestamp)
RETURNS TABLE (campaign_id uuid, bucket timestamp, queued integer, sent integer, bounced integer, delivered integer,
               opened integer, clicked integer, replied integer, positive_replies integer, meetings_booked integer)
LANGUAGE sql STABLE SET search_path = public AS $$
SELECT campaign_id, bucket, sum(queued)::int, sum(sent)::int, sum(bounced)::int, sum(delivered)::int,
       sum(opened)::int, sum(clicked)::int, sum(replied)::int, sum(positive_replies)::int, sum(meetings_booked)::int
  FROM (SELECT s.campaign_id, date_bin('15 minutes', s.created_at, TIMESTAMP '2000-01-01') AS bucket,
               1 AS queued, 0 AS sent, 0 AS bounced, 0 AS delivered, 0 AS opened, 0 AS clicked, 0 AS replied,
               0 AS positive_replies, 0 AS meetings_booked
          FROM email_sends s
         WHERE s.campaign_id IS NOT NULL AND s.created_at >= lo AND s.created_at < hi
        UNION ALL
        SELECT o.campaign_id, date_bin('15 minutes', o.sent_at, TIMESTAMP '2000-01-01'), 0, 1, o.bounced::int,
               o.delivered::int, o.opened::int, o.clicked::int, o.replied::int, o.positive_reply::int,
               o.meeting_booked::int
          FROM email_send_outcomes o
         WHERE o.campaign_id IS NOT NULL AND o.sent AND o.sent_at >= lo AND o.sent_at < hi) AS facts
 GROUP BY campaign_id, bucket
$$;
CREATE TABLE campaign_kpis_15m_closed (
    campaign_id UUID NOT NULL,
    bucket TIMESTAMP NOT NULL,
    queued INTEGER NOT NULL,
    sent INTEGER NOT NULL,
    bounced INTEGER NOT NULL,
    delivered INTEGER NOT NULL,
    opened INTEGER NOT NULL,
    clicked INTEGER NOT NULL,
    replied INTEGER NOT NULL,
    positive_replies INTEGER NOT NULL,
    meetings_booked INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, bucket)
);
CREATE INDEX campaign_kpis_15m_closed_bucket_idx ON campaign_kpis_15m_closed (bucket);
CREATE MATERIALIZED VIEW campaign_kpis_15m_open AS
SELECT f.* FROM rollup_horizon h CROSS JOIN LATERAL campaign_kpis_15m_between(h.horizon, 'infinity') AS f;
CREATE UNIQUE INDEX campaign_kpis_15m_open_key ON campaign_kpis_15m_open (campaign_id, bucket);
CREATE INDEX campaign_kpis_15m_open_bucket_idx ON campaign_kpis_15m_open (bucket);
CREATE VIEW campaign_kpis_15m AS
SELECT * FROM campaign_kpis_15m_closed
UNION ALL
SELECT * FROM campaign_kpis_15m_open;

-- views/campaign_revenue_15m.sql
-- Won deals per campaign × 15-minute UTC bucket of won_at × currency (spec §9: revenue per campaign). Amounts are
-- never converted between currencies: there is no exchange-rate source, so revenue is reported per currency.
-- Parts as in campaign_kpis_15m.sql: _between(lo, hi), _closed (before the horizon), _open (from it), and the view.
CREATE FUNCTION campaign_revenue_15m_between(lo timestamp, hi timestamp)
RETURNS TABLE (campaign_id uuid, bucket timestamp, currency character, deals_won integer, revenue numeric)
LANGUAGE sql STABLE SET search_path = public AS $$
SELECT campaign_id, date_bin('15 minutes', won_at, TIMESTAMP '2000-01-01'), currency, count(*)::int, sum(amount)
  FROM deals
 WHERE status = 'won' AND campaign_id IS NOT NULL AND won_at >= lo AND won_at < hi
 GROUP BY campaign_id, 2, currency
$$;
CREATE TABLE campaign_revenue_15m_closed (
    campaign_id UUID NOT NULL,
    bucket TIMESTAMP NOT NULL,
    currency CHAR(3) NOT NULL,
    deals_won INTEGER NOT NULL,
    revenue NUMERIC NOT NULL,
    PRIMARY KEY (campaign_id, bucket, currency)
);
CREATE INDEX campaign_revenue_15m_closed_bucket_idx ON campaign_revenue_15m_closed (bucket);
CREATE MATERIALIZED VIEW campaign_revenue_15m_open AS
SELECT f.campaign_id, f.bucket, f.currency::char(3) AS currency, f.deals_won, f.revenue
  FROM rollup_horizon h CROSS JOIN LATERAL campaign_revenue_15m_between(h.horizon, 'infinity') AS f;
CREATE UNIQUE INDEX campaign_revenue_15m_open_key ON campaign_revenue_15m_open (campaign_id, bucket, currency);
CREATE INDEX campaign_revenue_15m_open_bucket_idx ON campaign_revenue_15m_open (bucket);
CREATE VIEW campaign_revenue_15m AS
SELECT * FROM campaign_revenue_15m_closed
UNION ALL
SELECT * FROM campaign_revenue_15m_open;

-- views/platform_kpis_15m.sql
-- Platform activity per 15-minute UTC bucket: leads scraped (created_at), analyses completed (completed_at), demos
-- deployed (deployed_at), videos ready (status ready or archived, on created_at: videos have no ready timestamp),
-- emails sent (sent_at, any campaign) and AI spend (sum of AI-GYM cost, created_at).
-- Parts as in campaign_kpis_15m.sql: _between(lo, hi), _closed (before the horizon), _open (from it), and the view.
CREATE FUNCTION platform_kpis_15m_between(lo timestamp, hi timestamp)
RETURNS TABLE (bucket timestamp, leads_scraped integer, analyses_completed integer, demos_deployed integer,
               videos_ready integer, emails_sent integer, ai_runs integer, ai_spend numeric)
LANGUAGE sql STABLE SET search_path = public AS $$
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
$$;
CREATE TABLE platform_kpis_15m_closed (
    bucket TIMESTAMP PRIMARY KEY,
    leads_scraped INTEGER NOT NULL,
    analyses_completed INTEGER NOT NULL,
    demos_deployed INTEGER NOT NULL,
    videos_ready INTEGER NOT NULL,
    emails_sent INTEGER NOT NULL,
    ai_runs INTEGER NOT NULL,
    ai_spend NUMERIC NOT NULL
);
CREATE MATERIALIZED VIEW platform_kpis_15m_open AS
SELECT f.* FROM rollup_horizon h CROSS JOIN LATERAL platform_kpis_15m_between(h.horizon, 'infinity') AS f;
CREATE UNIQUE INDEX platform_kpis_15m_open_key ON platform_kpis_15m_open (bucket);
CREATE VIEW platform_kpis_15m AS
SELECT * FROM platform_kpis_15m_closed
UNION ALL
SELECT * FROM platform_kpis_15m_open;

-- views/ai_gym_daily.sql
-- AI-GYM per task type × model × UTC day: sums and counts from which any period's means follow exactly (a mean of
-- a value is its sum over the rows that have it divided by their count).
-- Parts as in campaign_kpis_15m.sql: _between(lo, hi), _closed (before the horizon), _open (from it), and the view.
CREATE FUNCTION ai_gym_daily_between(lo timestamp, hi timestamp)
RETURNS TABLE (task_type varchar, model_name varchar, day date, usage_count integer, cost_sum numeric,
               cost_count integer, quality_sum bigint, quality_count integer, conversion_sum numeric,
               conversion_count integer, duration_count integer)
LANGUAGE sql STABLE SET search_path = public AS $$
SELECT task_type, model_name, created_at::date, count(*)::int, sum(cost), count(cost)::int,
       sum(quality_score)::bigint, count(quality_score)::int, sum(conversion_metric), count(conversion_metric)::int,
       count(duration_seconds)::int
  FROM ai_gym_performance
 WHERE task_type IS NOT NULL AND model_name IS NOT NULL AND created_at >= lo AND created_at < hi
 GROUP BY task_type, model_name, created_at::date
$$;
CREATE TABLE ai_gym_daily_closed (
    task_type VARCHAR(50) NOT NULL,
    model_name VARCHAR(50) NOT NULL,
    day DATE NOT NULL,
    usage_count INTEGER NOT NULL,
    cost_sum NUMERIC,
    cost_count INTEGER NOT NULL,
    quality_sum BIGINT,
    quality_count INTEGER NOT NULL,
    conversion_sum NUMERIC,
    conversion_count INTEGER NOT NULL,
    duration_count INTEGER NOT NULL,
    PRIMARY KEY (task_type, day, model_name)
);
CREATE MATERIALIZED VIEW ai_gym_daily_open AS
SELECT f.task_type::varchar(50) AS task_type, f.model_name::varchar(50) AS model_name, f.day, f.usage_count,
       f.cost_sum, f.cost_count, f.quality_sum, f.quality_count, f.conversion_sum, f.conversion_count,
       f.duration_count
  FROM rollup_horizon h CROSS JOIN LATERAL ai_gym_daily_between(h.horizon, 'infinity') AS f;
CREATE UNIQUE INDEX ai_gym_daily_open_key ON ai_gym_daily_open (task_type, day, model_name);
CREATE VIEW ai_gym_daily AS
SELECT * FROM ai_gym_daily_closed
UNION ALL
SELECT * FROM ai_gym_daily_open;

-- views/ai_gym_durations_daily.sql
-- AI-GYM duration histogram per task type × model × UTC day: how many rows took each whole number of seconds.
-- duration_seconds is an integer, so the histogram is lossless and p50/p95 over any set of days are exact
-- (percentile_cont over the rows those days hold).
-- Parts as in campaign_kpis_15m.sql: _between(lo, hi), _closed (before the horizon), _open (from it), and the view.
CREATE FUNCTION ai_gym_durations_daily_between(lo timestamp, hi timestamp)
RETURNS TABLE (task_type varchar, model_name varchar, day date, duration_seconds integer, n integer)
LANGUAGE sql STABLE SET search_path = public AS $$
SELECT task_type, model_name, created_at::date, duration_seconds, count(*)::int
  FROM ai_gym_performance
 WHERE task_type IS NOT NULL AND model_name IS NOT NULL AND duration_seconds IS NOT NULL
   AND created_at >= lo AND created_at < hi
 GROUP BY task_type, model_name, created_at::date, duration_seconds
$$;
CREATE TABLE ai_gym_durations_daily_closed (
    task_type VARCHAR(50) NOT NULL,
    model_name VARCHAR(50) NOT NULL,
    day DATE NOT NULL,
    duration_seconds INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (task_type, day, model_name, duration_seconds)
);
CREATE MATERIALIZED VIEW ai_gym_durations_daily_open AS
SELECT f.task_type::varchar(50) AS task_type, f.model_name::varchar(50) AS model_name, f.day, f.duration_seconds,
       f.n
  FROM rollup_horizon h CROSS JOIN LATERAL ai_gym_durations_daily_between(h.horizon, 'infinity') AS f;
CREATE UNIQUE INDEX ai_gym_durations_daily_open_key
    ON ai_gym_durations_daily_open (task_type, day, model_name, duration_seconds);
CREATE VIEW ai_gym_durations_daily AS
SELECT * FROM ai_gym_durations_daily_closed
UNION ALL
SELECT * FROM ai_gym_durations_daily_open;

-- views/ai_gym_costs_daily.sql (new: exact cost percentiles)
-- AI-GYM cost histogram per task type × model × UTC day: how many rows cost each exact amount. cost is
-- NUMERIC(10,4), so the histogram is lossless and cost p50/p95 over any set of days are exact (percentile_cont over
-- the rows those days hold).
-- Parts as in campaign_kpis_15m.sql: _between(lo, hi), _closed (before the horizon), _open (from it), and the view.
CREATE FUNCTION ai_gym_costs_daily_between(lo timestamp, hi timestamp)
RETURNS TABLE (task_type varchar, model_name varchar, day date, cost numeric, n integer)
LANGUAGE sql STABLE SET search_path = public AS $$
SELECT task_type, model_name, created_at::date, cost, count(*)::int
  FROM ai_gym_performance
 WHERE task_type IS NOT NULL AND model_name IS NOT NULL AND cost IS NOT NULL
   AND created_at >= lo AND created_at < hi
 GROUP BY task_type, model_name, created_at::date, cost
$$;
CREATE TABLE ai_gym_costs_daily_closed (
    task_type VARCHAR(50) NOT NULL,
    model_name VARCHAR(50) NOT NULL,
    day DATE NOT NULL,
    cost NUMERIC(10,4) NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (task_type, day, model_name, cost)
);
CREATE MATERIALIZED VIEW ai_gym_costs_daily_open AS
SELECT f.task_type::varchar(50) AS task_type, f.model_name::varchar(50) AS model_name, f.day,
       f.cost::numeric(10,4) AS cost, f.n
  FROM rollup_horizon h CROSS JOIN LATERAL ai_gym_costs_daily_between(h.horizon, 'infinity') AS f;
CREATE UNIQUE INDEX ai_gym_costs_daily_open_key ON ai_gym_costs_daily_open (task_type, day, model_name, cost);
CREATE VIEW ai_gym_costs_daily AS
SELECT * FROM ai_gym_costs_daily_closed
UNION ALL
SELECT * FROM ai_gym_costs_daily_open;

-- views/ab_variant_results.sql
-- A/B results per test × variant over the test's lifetime. exposures = delivered emails carrying the variant; the
-- outcome counts follow email_send_outcomes (meetings: first touch, so an exposed lead's booking counts once).
-- Kept per UTC day of sent_at (ab_variant_daily_*; parts as in campaign_kpis_15m.sql) so that a refresh only
-- recounts the days that changed; ab_variant_results sums the days.
CREATE FUNCTION ab_variant_daily_between(lo timestamp, hi timestamp)
RETURNS TABLE (ab_test_id uuid, variant varchar, day date, sent integer, exposures integer, opens integer,
               clicks integer, replies integer, positive_replies integer, meetings integer)
LANGUAGE sql STABLE SET search_path = public AS $$
SELECT ab_test_id, ab_variant, sent_at::date, count(*)::int, count(*) FILTER (WHERE delivered)::int,
       count(*) FILTER (WHERE opened)::int, count(*) FILTER (WHERE clicked)::int,
       count(*) FILTER (WHERE replied)::int, count(*) FILTER (WHERE positive_reply)::int,
       count(*) FILTER (WHERE meeting_booked)::int
  FROM email_send_outcomes
 WHERE ab_test_id IS NOT NULL AND ab_variant IS NOT NULL AND sent AND sent_at >= lo AND sent_at < hi
 GROUP BY ab_test_id, ab_variant, sent_at::date
$$;
CREATE TABLE ab_variant_daily_closed (
    ab_test_id UUID NOT NULL,
    variant VARCHAR(50) NOT NULL,
    day DATE NOT NULL,
    sent INTEGER NOT NULL,
    exposures INTEGER NOT NULL,
    opens INTEGER NOT NULL,
    clicks INTEGER NOT NULL,
    replies INTEGER NOT NULL,
    positive_replies INTEGER NOT NULL,
    meetings INTEGER NOT NULL,
    PRIMARY KEY (ab_test_id, variant, day)
);
CREATE MATERIALIZED VIEW ab_variant_daily_open AS
SELECT f.ab_test_id, f.variant::varchar(50) AS variant, f.day, f.sent, f.exposures, f.opens, f.clicks, f.replies,
       f.positive_replies, f.meetings
  FROM rollup_horizon h CROSS JOIN LATERAL ab_variant_daily_between(h.horizon, 'infinity') AS f;
CREATE UNIQUE INDEX ab_variant_daily_open_key ON ab_variant_daily_open (ab_test_id, variant, day);
CREATE VIEW ab_variant_results AS
SELECT ab_test_id, variant, sum(sent)::int AS sent, sum(exposures)::int AS exposures, sum(opens)::int AS opens,
       sum(clicks)::int AS clicks, sum(replies)::int AS replies, sum(positive_replies)::int AS positive_replies,
       sum(meetings)::int AS meetings
  FROM (SELECT * FROM ab_variant_daily_closed UNION ALL SELECT * FROM ab_variant_daily_open) AS days
 GROUP BY ab_test_id, variant;

-- The open views were filled as they were created (the horizon starts at -infinity: all of history is open until
-- the first refresh closes it): that is their first refresh.
INSERT INTO view_refreshes (view_name, as_of, duration_ms, row_count, trigger)
SELECT 'campaign_kpis_15m', NOW(), 0, (SELECT count(*) FROM campaign_kpis_15m_open), 'migration'
UNION ALL
SELECT 'campaign_revenue_15m', NOW(), 0, (SELECT count(*) FROM campaign_revenue_15m_open), 'migration'
UNION ALL
SELECT 'platform_kpis_15m', NOW(), 0, (SELECT count(*) FROM platform_kpis_15m_open), 'migration'
UNION ALL
SELECT 'ai_gym_daily', NOW(), 0, (SELECT count(*) FROM ai_gym_daily_open), 'migration'
UNION ALL
SELECT 'ai_gym_durations_daily', NOW(), 0, (SELECT count(*) FROM ai_gym_durations_daily_open), 'migration'
UNION ALL
SELECT 'ai_gym_costs_daily', NOW(), 0, (SELECT count(*) FROM ai_gym_costs_daily_open), 'migration'
UNION ALL
SELECT 'ab_variant_results', NOW(), 0, (SELECT count(*) FROM ab_variant_daily_open), 'migration';

-- Down Migration
DROP VIEW ab_variant_results, ai_gym_costs_daily, ai_gym_durations_daily, ai_gym_daily, platform_kpis_15m, campaign_revenue_15m, campaign_kpis_15m;
DROP MATERIALIZED VIEW ab_variant_daily_open, ai_gym_costs_daily_open, ai_gym_durations_daily_open, ai_gym_daily_open, platform_kpis_15m_open, campaign_revenue_15m_open, campaign_kpis_15m_open;
DROP TABLE ab_variant_daily_closed, ai_gym_costs_daily_closed, ai_gym_durations_daily_closed, ai_gym_daily_closed, platform_kpis_15m_closed, campaign_revenue_15m_closed, campaign_kpis_15m_closed;
DROP FUNCTION ab_variant_daily_between, ai_gym_costs_daily_between, ai_gym_durations_daily_between, ai_gym_daily_between, platform_kpis_15m_between, campaign_revenue_15m_between, campaign_kpis_15m_between;
DROP VIEW email_send_outcomes;
-- Dropping the functions drops the triggers that use them.
DROP FUNCTION rollup_mark_email_sends, rollup_mark_email_update, rollup_mark_below, rollup_mark_lead_campaign, rollup_mark_conversation_messages,
    rollup_mark_created_at, rollup_mark_completed_at, rollup_mark_deployed_at, rollup_mark_won_at, rollup_mark_all
    CASCADE;
DROP INDEX deals_won_at_idx, videos_created_at_idx, demo_sites_deployed_at_idx, website_analyses_completed_at_idx,
    email_sends_sent_at_idx;
DROP TABLE rollup_dirty_days, rollup_horizon;

-- The rollups as 0010 made them.
-- views/email_send_outcomes.sql
-- One row per email with the outcomes the KPI contract counts (README "KPI definitions"). A plain view: the
-- materialized rollups below aggregate it, so the rules live in one place.
--   sent       = status sent or bounced (queued, sending and failed emails are not sent), counted on sent_at
--   delivered  = sent and not bounced
--   opened / clicked / replied = delivered with the timestamp set
--   positive_reply = replied, and the lead answered in a thread of this campaign (for this email, or not tied to
--                    one) with an inbound message of sentiment 'positive'
--   meeting_booked = first touch: a lead's meeting in a campaign is credited once, to the lead's first delivered
--                    email of that campaign, when a meeting was booked at or after that email was sent
CREATE VIEW email_send_outcomes AS
WITH first_touch AS (
    SELECT DISTINCT ON (lead_id, campaign_id) id, lead_id, campaign_id, sent_at
      FROM email_sends
     WHERE status = 'sent' AND sent_at IS NOT NULL AND lead_id IS NOT NULL AND campaign_id IS NOT NULL
     ORDER BY lead_id, campaign_id, sent_at, id
), meeting_credit AS (
    SELECT f.id
      FROM first_touch f
     WHERE EXISTS (SELECT 1 FROM meetings m
                    WHERE m.lead_id = f.lead_id AND m.campaign_id = f.campaign_id AND m.booked_at >= f.sent_at)
), positive_threads AS (
    SELECT DISTINCT c.lead_id, c.campaign_id, c.email_send_id
      FROM conversations c
      JOIN conversation_messages m ON m.conversation_id = c.id
     WHERE m.direction = 'inbound' AND m.sentiment = 'positive'
       AND c.lead_id IS NOT NULL AND c.campaign_id IS NOT NULL
)
SELECT s.id,
       s.created_at,
       s.campaign_id,
       s.ab_test_id,
       s.ab_variant,
       s.lead_id,
       s.sent_at,
       (s.sent_at IS NOT NULL AND s.status IN ('sent', 'bounced')) AS sent,
       (s.sent_at IS NOT NULL AND s.status = 'bounced') AS bounced,
       (s.sent_at IS NOT NULL AND s.status = 'sent') AS delivered,
       (s.sent_at IS NOT NULL AND s.status = 'sent' AND s.opened_at IS NOT NULL) AS opened,
       (s.sent_at IS NOT NULL AND s.status = 'sent' AND s.clicked_at IS NOT NULL) AS clicked,
       (s.sent_at IS NOT NULL AND s.status = 'sent' AND s.replied_at IS NOT NULL) AS replied,
       (s.sent_at IS NOT NULL AND s.status = 'sent' AND s.replied_at IS NOT NULL AND EXISTS (
            SELECT 1 FROM positive_threads p
             WHERE p.lead_id = s.lead_id AND p.campaign_id = s.campaign_id
               AND (p.email_send_id IS NULL OR p.email_send_id = s.id))) AS positive_reply,
       (mc.id IS NOT NULL) AS meeting_booked
  FROM email_sends s
  LEFT JOIN meeting_credit mc ON mc.id = s.id;

-- views/campaign_kpis_15m.sql
-- Campaign funnel per campaign × 15-minute UTC bucket (spec §9: reply rate, meeting booking rate). Emails count in
-- the bucket they were sent (queued: the bucket they were queued). 15 minutes is the finest UTC offset step of any
-- time zone, so a day, week or month in any IANA zone is an exact sum of buckets.
CREATE MATERIALIZED VIEW campaign_kpis_15m AS
SELECT campaign_id,
       bucket,
       sum(queued)::int AS queued,
       sum(sent)::int AS sent,
       sum(bounced)::int AS bounced,
       sum(delivered)::int AS delivered,
       sum(opened)::int AS opened,
       sum(clicked)::int AS clicked,
       sum(replied)::int AS replied,
       sum(positive_replies)::int AS positive_replies,
       sum(meetings_booked)::int AS meetings_booked
  FROM (-- One pass over the emails: each gives a "queued" fact and, once sent, a "sent" fact.
        SELECT o.campaign_id, f.*
          FROM email_send_outcomes o
         CROSS JOIN LATERAL (
               VALUES (date_bin('15 minutes', o.created_at, TIMESTAMP '2000-01-01'), 1, 0, 0, 0, 0, 0, 0, 0, 0),
                      (date_bin('15 minutes', o.sent_at, TIMESTAMP '2000-01-01'), 0, 1, o.bounced::int,
                       o.delivered::int, o.opened::int, o.clicked::int, o.replied::int, o.positive_reply::int,
                       o.meeting_booked::int)
               ) AS f(bucket, queued, sent, bounced, delivered, opened, clicked, replied, positive_replies,
                      meetings_booked)
         WHERE o.campaign_id IS NOT NULL AND (f.queued = 1 OR o.sent)) AS facts
 GROUP BY campaign_id, bucket;
CREATE UNIQUE INDEX campaign_kpis_15m_key ON campaign_kpis_15m (campaign_id, bucket);
CREATE INDEX campaign_kpis_15m_bucket_idx ON campaign_kpis_15m (bucket);

-- views/campaign_revenue_15m.sql
-- Won deals per campaign × 15-minute UTC bucket of won_at × currency (spec §9: revenue per campaign). Amounts are
-- never converted between currencies: there is no exchange-rate source, so revenue is reported per currency.
CREATE MATERIALIZED VIEW campaign_revenue_15m AS
SELECT campaign_id,
       date_bin('15 minutes', won_at, TIMESTAMP '2000-01-01') AS bucket,
       currency,
       count(*)::int AS deals_won,
       sum(amount) AS revenue
  FROM deals
 WHERE status = 'won' AND campaign_id IS NOT NULL AND won_at IS NOT NULL
 GROUP BY campaign_id, 2, currency;
CREATE UNIQUE INDEX campaign_revenue_15m_key ON campaign_revenue_15m (campaign_id, bucket, currency);
CREATE INDEX campaign_revenue_15m_bucket_idx ON campaign_revenue_15m (bucket);

-- views/platform_kpis_15m.sql
-- Platform activity per 15-minute UTC bucket: leads scraped (created_at), analyses completed (completed_at), demos
-- deployed (deployed_at), videos ready (status ready or archived, on created_at: videos have no ready timestamp),
-- emails sent (sent_at, any campaign) and AI spend (sum of AI-GYM cost, created_at).
CREATE MATERIALIZED VIEW platform_kpis_15m AS
SELECT bucket,
       sum(leads_scraped)::int AS leads_scraped,
       sum(analyses_completed)::int AS analyses_completed,
       sum(demos_deployed)::int AS demos_deployed,
       sum(videos_ready)::int AS videos_ready,
       sum(emails_sent)::int AS emails_sent,
       sum(ai_runs)::int AS ai_runs,
       sum(ai_spend) AS ai_spend
  FROM (SELECT date_bin('15 minutes', created_at, TIMESTAMP '2000-01-01') AS bucket, 1 AS leads_scraped,
               0 AS analyses_completed, 0 AS demos_deployed, 0 AS videos_ready, 0 AS emails_sent, 0 AS ai_runs,
               0::numeric AS ai_spend
          FROM leads
        UNION ALL
        SELECT date_bin('15 minutes', completed_at, TIMESTAMP '2000-01-01'), 0, 1, 0, 0, 0, 0, 0
          FROM website_analyses WHERE status = 'completed' AND completed_at IS NOT NULL
        UNION ALL
        SELECT date_bin('15 minutes', deployed_at, TIMESTAMP '2000-01-01'), 0, 0, 1, 0, 0, 0, 0
          FROM demo_sites WHERE deployed_at IS NOT NULL AND status IN ('deployed', 'archived')
        UNION ALL
        SELECT date_bin('15 minutes', created_at, TIMESTAMP '2000-01-01'), 0, 0, 0, 1, 0, 0, 0
          FROM videos WHERE created_at IS NOT NULL AND status IN ('ready', 'archived')
        UNION ALL
        SELECT date_bin('15 minutes', sent_at, TIMESTAMP '2000-01-01'), 0, 0, 0, 0, 1, 0, 0
          FROM email_sends WHERE sent_at IS NOT NULL AND status IN ('sent', 'bounced')
        UNION ALL
        SELECT date_bin('15 minutes', created_at, TIMESTAMP '2000-01-01'), 0, 0, 0, 0, 0, 1, COALESCE(cost, 0)
          FROM ai_gym_performance) AS facts
 GROUP BY bucket;
CREATE UNIQUE INDEX platform_kpis_15m_key ON platform_kpis_15m (bucket);

-- views/ai_gym_daily.sql
-- AI-GYM per task type × model × UTC day: sums and counts from which any period's means follow exactly (a mean of
-- a value is its sum over the rows that have it divided by their count).
CREATE MATERIALIZED VIEW ai_gym_daily AS
SELECT task_type,
       model_name,
       created_at::date AS day,
       count(*)::int AS usage_count,
       sum(cost) AS cost_sum,
       count(cost)::int AS cost_count,
       sum(quality_score)::bigint AS quality_sum,
       count(quality_score)::int AS quality_count,
       sum(conversion_metric) AS conversion_sum,
       count(conversion_metric)::int AS conversion_count,
       count(duration_seconds)::int AS duration_count
  FROM ai_gym_performance
 WHERE task_type IS NOT NULL AND model_name IS NOT NULL
 GROUP BY task_type, model_name, created_at::date;
CREATE UNIQUE INDEX ai_gym_daily_key ON ai_gym_daily (task_type, day, model_name);

-- views/ai_gym_durations_daily.sql
-- AI-GYM duration histogram per task type × model × UTC day: how many rows took each whole number of seconds.
-- duration_seconds is an integer, so the histogram is lossless and p50/p95 over any set of days are exact
-- (percentile_cont over the rows those days hold).
CREATE MATERIALIZED VIEW ai_gym_durations_daily AS
SELECT task_type,
       model_name,
       created_at::date AS day,
       duration_seconds,
       count(*)::int AS n
  FROM ai_gym_performance
 WHERE task_type IS NOT NULL AND model_name IS NOT NULL AND duration_seconds IS NOT NULL
 GROUP BY task_type, model_name, created_at::date, duration_seconds;
CREATE UNIQUE INDEX ai_gym_durations_daily_key ON ai_gym_durations_daily (task_type, day, model_name, duration_seconds);

-- views/ab_variant_results.sql
-- A/B results per test × variant over the test's lifetime. exposures = delivered emails carrying the variant; the
-- outcome counts follow email_send_outcomes (meetings: first touch, so an exposed lead's booking counts once).
CREATE MATERIALIZED VIEW ab_variant_results AS
SELECT ab_test_id,
       ab_variant AS variant,
       count(*) FILTER (WHERE sent)::int AS sent,
       count(*) FILTER (WHERE delivered)::int AS exposures,
       count(*) FILTER (WHERE opened)::int AS opens,
       count(*) FILTER (WHERE clicked)::int AS clicks,
       count(*) FILTER (WHERE replied)::int AS replies,
       count(*) FILTER (WHERE positive_reply)::int AS positive_replies,
       count(*) FILTER (WHERE meeting_booked)::int AS meetings
  FROM email_send_outcomes
 WHERE ab_test_id IS NOT NULL AND ab_variant IS NOT NULL
 GROUP BY ab_test_id, ab_variant;
CREATE UNIQUE INDEX ab_variant_results_key ON ab_variant_results (ab_test_id, variant);
