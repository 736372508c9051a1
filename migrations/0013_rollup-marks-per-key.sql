-- Up Migration
-- Rollup marks per rollup and key (issue 4: refresh cost). 0011 recorded a changed closed UTC day, and a refresh
-- recounted that whole day in every rollup: one late open cost a recount of all campaigns' emails, the platform
-- totals and three AI-GYM rollups of its day. Now a mark names its rollup and, for the rollups kept per campaign or
-- per A/B test, its key; their _between functions take the keys to recount (views/ copies below).

-- Each mark names the rollup it is for (`rollup`, NULL: every rollup, as after a TRUNCATE) and, for the rollups
-- kept per campaign or per A/B test, the key (`key`: campaign_kpis_15m and campaign_revenue_15m by campaign id,
-- ab_variant_results by A/B test id; NULL: every key of the day). A refresh recounts, per rollup, the closed days
-- marked for it, and of a keyed mark only that campaign's or test's rows of the day: a late open recounts one
-- campaign's and one test's emails of one day, not every rollup's whole day.
ALTER TABLE rollup_dirty_days ADD COLUMN rollup VARCHAR(63), ADD COLUMN key UUID;

-- Rows with a created_at (leads, videos, AI-GYM records): the rollups named by the trigger's arguments.
CREATE OR REPLACE FUNCTION rollup_mark_created_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rollup_dirty_days (day, rollup)
    SELECT DISTINCT c.created_at::date, r.rollup
      FROM changed c, rollup_horizon h, unnest(TG_ARGV) AS r(rollup)
     WHERE c.created_at < h.mark_below;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION rollup_mark_completed_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rollup_dirty_days (day, rollup)
    SELECT DISTINCT c.completed_at::date, 'platform_kpis_15m'
      FROM changed c, rollup_horizon h WHERE c.completed_at < h.mark_below;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION rollup_mark_deployed_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rollup_dirty_days (day, rollup)
    SELECT DISTINCT c.deployed_at::date, 'platform_kpis_15m'
      FROM changed c, rollup_horizon h WHERE c.deployed_at < h.mark_below;
    RETURN NULL;
END $$;
-- Deals: revenue of the deal's campaign on the day it was won.
CREATE OR REPLACE FUNCTION rollup_mark_won_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rollup_dirty_days (day, rollup, key)
    SELECT DISTINCT c.won_at::date, 'campaign_revenue_15m', c.campaign_id
      FROM changed c, rollup_horizon h WHERE c.won_at < h.mark_below AND c.campaign_id IS NOT NULL;
    RETURN NULL;
END $$;

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
     WHERE c.direction = 'inbound' AND c.sentiment = 'positive' AND e.sent_at < h.mark_below
       AND k.key IS NOT NULL;
    RETURN NULL;
END $$;


-- The created_at triggers, now with the rollups they mark as arguments.
DROP TRIGGER leads_rollup_inserted ON leads;
CREATE TRIGGER leads_rollup_inserted AFTER INSERT ON leads REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_created_at('platform_kpis_15m');
DROP TRIGGER leads_rollup_updated_new ON leads;
CREATE TRIGGER leads_rollup_updated_new AFTER UPDATE ON leads REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_created_at('platform_kpis_15m');
DROP TRIGGER leads_rollup_updated_old ON leads;
CREATE TRIGGER leads_rollup_updated_old AFTER UPDATE ON leads REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_created_at('platform_kpis_15m');
DROP TRIGGER leads_rollup_deleted ON leads;
CREATE TRIGGER leads_rollup_deleted AFTER DELETE ON leads REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_created_at('platform_kpis_15m');
DROP TRIGGER videos_rollup_inserted ON videos;
CREATE TRIGGER videos_rollup_inserted AFTER INSERT ON videos REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_created_at('platform_kpis_15m');
DROP TRIGGER videos_rollup_updated_new ON videos;
CREATE TRIGGER videos_rollup_updated_new AFTER UPDATE ON videos REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_created_at('platform_kpis_15m');
DROP TRIGGER videos_rollup_updated_old ON videos;
CREATE TRIGGER videos_rollup_updated_old AFTER UPDATE ON videos REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_created_at('platform_kpis_15m');
DROP TRIGGER videos_rollup_deleted ON videos;
CREATE TRIGGER videos_rollup_deleted AFTER DELETE ON videos REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_created_at('platform_kpis_15m');
DROP TRIGGER ai_gym_performance_rollup_inserted ON ai_gym_performance;
CREATE TRIGGER ai_gym_performance_rollup_inserted AFTER INSERT ON ai_gym_performance REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_created_at('platform_kpis_15m', 'ai_gym_daily', 'ai_gym_durations_daily', 'ai_gym_costs_daily');
DROP TRIGGER ai_gym_performance_rollup_updated_new ON ai_gym_performance;
CREATE TRIGGER ai_gym_performance_rollup_updated_new AFTER UPDATE ON ai_gym_performance REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_created_at('platform_kpis_15m', 'ai_gym_daily', 'ai_gym_durations_daily', 'ai_gym_costs_daily');
DROP TRIGGER ai_gym_performance_rollup_updated_old ON ai_gym_performance;
CREATE TRIGGER ai_gym_performance_rollup_updated_old AFTER UPDATE ON ai_gym_performance REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_created_at('platform_kpis_15m', 'ai_gym_daily', 'ai_gym_durations_daily', 'ai_gym_costs_daily');
DROP TRIGGER ai_gym_performance_rollup_deleted ON ai_gym_performance;
CREATE TRIGGER ai_gym_performance_rollup_deleted AFTER DELETE ON ai_gym_performance REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_created_at('platform_kpis_15m', 'ai_gym_daily', 'ai_gym_durations_daily', 'ai_gym_costs_daily');


-- The keyed rollups' functions take the keys (closed tables stay; open views are rebuilt from the horizon).
DROP VIEW campaign_kpis_15m;
DROP MATERIALIZED VIEW campaign_kpis_15m_open;
DROP FUNCTION campaign_kpis_15m_between(timestamp, timestamp);
DROP VIEW campaign_revenue_15m;
DROP MATERIALIZED VIEW campaign_revenue_15m_open;
DROP FUNCTION campaign_revenue_15m_between(timestamp, timestamp);
DROP VIEW ab_variant_results;
DROP MATERIALIZED VIEW ab_variant_daily_open;
DROP FUNCTION ab_variant_daily_between(timestamp, timestamp);

-- views/campaign_kpis_15m.sql
-- Campaign funnel per campaign × 15-minute UTC bucket (spec §9: reply rate, meeting booking rate). Emails count in
-- the bucket they were sent (queued: the bucket they were queued). 15 minutes is the finest UTC offset step of any
-- time zone, so a day, week or month in any IANA zone is an exact sum of buckets.
--
-- Like every rollup here it has four parts (views/README.md): campaign_kpis_15m_between(lo, hi, keys), the
-- aggregate of the buckets in [lo, hi) straight from the base tables (of the campaigns in keys; NULL: all);
-- campaign_kpis_15m_closed, the buckets before the rollup horizon, rewritten only for the days (and campaigns) that
-- changed; campaign_kpis_15m_open, the materialized view of the buckets from the horizon on; and campaign_kpis_15m,
-- the view readers use, which is both.
-- (The functions pin search_path: since PostgreSQL 17, REFRESH runs them with only pg_catalog on it.)
CREATE FUNCTION campaign_kpis_15m_between(lo timestamp, hi timestamp, keys uuid[])
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
           AND (keys IS NULL OR s.campaign_id = ANY (keys))
        UNION ALL
        SELECT o.campaign_id, date_bin('15 minutes', o.sent_at, TIMESTAMP '2000-01-01'), 0, 1, o.bounced::int,
               o.delivered::int, o.opened::int, o.clicked::int, o.replied::int, o.positive_reply::int,
               o.meeting_booked::int
          FROM email_send_outcomes o
         WHERE o.campaign_id IS NOT NULL AND o.sent AND o.sent_at >= lo AND o.sent_at < hi
           AND (keys IS NULL OR o.campaign_id = ANY (keys))) AS facts
 GROUP BY campaign_id, bucket
$$;
CREATE MATERIALIZED VIEW campaign_kpis_15m_open AS
SELECT f.* FROM rollup_horizon h CROSS JOIN LATERAL campaign_kpis_15m_between(h.horizon, 'infinity', NULL) AS f;
CREATE UNIQUE INDEX campaign_kpis_15m_open_key ON campaign_kpis_15m_open (campaign_id, bucket);
CREATE INDEX campaign_kpis_15m_open_bucket_idx ON campaign_kpis_15m_open (bucket);
CREATE VIEW campaign_kpis_15m AS
SELECT * FROM campaign_kpis_15m_closed
UNION ALL
SELECT * FROM campaign_kpis_15m_open;


-- views/campaign_revenue_15m.sql
-- Won deals per campaign × 15-minute UTC bucket of won_at × currency (spec §9: revenue per campaign). Amounts are
-- never converted between currencies: there is no exchange-rate source, so revenue is reported per currency.
-- Parts as in campaign_kpis_15m.sql: _between(lo, hi, campaign ids), _closed (before the horizon), _open (from it),
-- and the view.
CREATE FUNCTION campaign_revenue_15m_between(lo timestamp, hi timestamp, keys uuid[])
RETURNS TABLE (campaign_id uuid, bucket timestamp, currency character, deals_won integer, revenue numeric)
LANGUAGE sql STABLE SET search_path = public AS $$
SELECT campaign_id, date_bin('15 minutes', won_at, TIMESTAMP '2000-01-01'), currency, count(*)::int, sum(amount)
  FROM deals
 WHERE status = 'won' AND campaign_id IS NOT NULL AND won_at >= lo AND won_at < hi
   AND (keys IS NULL OR campaign_id = ANY (keys))
 GROUP BY campaign_id, 2, currency
$$;
CREATE MATERIALIZED VIEW campaign_revenue_15m_open AS
SELECT f.campaign_id, f.bucket, f.currency::char(3) AS currency, f.deals_won, f.revenue
  FROM rollup_horizon h CROSS JOIN LATERAL campaign_revenue_15m_between(h.horizon, 'infinity', NULL) AS f;
CREATE UNIQUE INDEX campaign_revenue_15m_open_key ON campaign_revenue_15m_open (campaign_id, bucket, currency);
CREATE INDEX campaign_revenue_15m_open_bucket_idx ON campaign_revenue_15m_open (bucket);
CREATE VIEW campaign_revenue_15m AS
SELECT * FROM campaign_revenue_15m_closed
UNION ALL
SELECT * FROM campaign_revenue_15m_open;


-- views/ab_variant_results.sql
-- A/B results per test × variant over the test's lifetime. exposures = delivered emails carrying the variant; the
-- outcome counts follow email_send_outcomes (meetings: first touch, so an exposed lead's booking counts once).
-- Kept per UTC day of sent_at (ab_variant_daily_*; parts as in campaign_kpis_15m.sql, keyed by A/B test id) so
-- that a refresh only recounts the tests and days that changed; ab_variant_results sums the days.
CREATE FUNCTION ab_variant_daily_between(lo timestamp, hi timestamp, keys uuid[])
RETURNS TABLE (ab_test_id uuid, variant varchar, day date, sent integer, exposures integer, opens integer,
               clicks integer, replies integer, positive_replies integer, meetings integer)
LANGUAGE sql STABLE SET search_path = public AS $$
SELECT ab_test_id, ab_variant, sent_at::date, count(*)::int, count(*) FILTER (WHERE delivered)::int,
       count(*) FILTER (WHERE opened)::int, count(*) FILTER (WHERE clicked)::int,
       count(*) FILTER (WHERE replied)::int, count(*) FILTER (WHERE positive_reply)::int,
       count(*) FILTER (WHERE meeting_booked)::int
  FROM email_send_outcomes
 WHERE ab_test_id IS NOT NULL AND ab_variant IS NOT NULL AND sent AND sent_at >= lo AND sent_at < hi
   AND (keys IS NULL OR ab_test_id = ANY (keys))
 GROUP BY ab_test_id, ab_variant, sent_at::date
$$;
CREATE MATERIALIZED VIEW ab_variant_daily_open AS
SELECT f.ab_test_id, f.variant::varchar(50) AS variant, f.day, f.sent, f.exposures, f.opens, f.clicks, f.replies,
       f.positive_replies, f.meetings
  FROM rollup_horizon h CROSS JOIN LATERAL ab_variant_daily_between(h.horizon, 'infinity', NULL) AS f;
CREATE UNIQUE INDEX ab_variant_daily_open_key ON ab_variant_daily_open (ab_test_id, variant, day);
CREATE VIEW ab_variant_results AS
SELECT ab_test_id, variant, sum(sent)::int AS sent, sum(exposures)::int AS exposures, sum(opens)::int AS opens,
       sum(clicks)::int AS clicks, sum(replies)::int AS replies, sum(positive_replies)::int AS positive_replies,
       sum(meetings)::int AS meetings
  FROM (SELECT * FROM ab_variant_daily_closed UNION ALL SELECT * FROM ab_variant_daily_open) AS days
 GROUP BY ab_test_id, variant;

-- Down Migration
DROP VIEW campaign_kpis_15m;
DROP MATERIALIZED VIEW campaign_kpis_15m_open;
DROP FUNCTION campaign_kpis_15m_between(timestamp, timestamp, uuid[]);
DROP VIEW campaign_revenue_15m;
DROP MATERIALIZED VIEW campaign_revenue_15m_open;
DROP FUNCTION campaign_revenue_15m_between(timestamp, timestamp, uuid[]);
DROP VIEW ab_variant_results;
DROP MATERIALIZED VIEW ab_variant_daily_open;
DROP FUNCTION ab_variant_daily_between(timestamp, timestamp, uuid[]);

-- views/campaign_kpis_15m.sql as 0011 made it
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
CREATE MATERIALIZED VIEW campaign_kpis_15m_open AS
SELECT f.* FROM rollup_horizon h CROSS JOIN LATERAL campaign_kpis_15m_between(h.horizon, 'infinity') AS f;
CREATE UNIQUE INDEX campaign_kpis_15m_open_key ON campaign_kpis_15m_open (campaign_id, bucket);
CREATE INDEX campaign_kpis_15m_open_bucket_idx ON campaign_kpis_15m_open (bucket);
CREATE VIEW campaign_kpis_15m AS
SELECT * FROM campaign_kpis_15m_closed
UNION ALL
SELECT * FROM campaign_kpis_15m_open;


-- views/campaign_revenue_15m.sql as 0011 made it
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
CREATE MATERIALIZED VIEW campaign_revenue_15m_open AS
SELECT f.campaign_id, f.bucket, f.currency::char(3) AS currency, f.deals_won, f.revenue
  FROM rollup_horizon h CROSS JOIN LATERAL campaign_revenue_15m_between(h.horizon, 'infinity') AS f;
CREATE UNIQUE INDEX campaign_revenue_15m_open_key ON campaign_revenue_15m_open (campaign_id, bucket, currency);
CREATE INDEX campaign_revenue_15m_open_bucket_idx ON campaign_revenue_15m_open (bucket);
CREATE VIEW campaign_revenue_15m AS
SELECT * FROM campaign_revenue_15m_closed
UNION ALL
SELECT * FROM campaign_revenue_15m_open;


-- views/ab_variant_results.sql as 0011 made it
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


-- The created_at triggers as 0011 made them.
DROP TRIGGER leads_rollup_inserted ON leads;
CREATE TRIGGER leads_rollup_inserted AFTER INSERT ON leads REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_created_at();
DROP TRIGGER leads_rollup_updated_new ON leads;
CREATE TRIGGER leads_rollup_updated_new AFTER UPDATE ON leads REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_created_at();
DROP TRIGGER leads_rollup_updated_old ON leads;
CREATE TRIGGER leads_rollup_updated_old AFTER UPDATE ON leads REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_created_at();
DROP TRIGGER leads_rollup_deleted ON leads;
CREATE TRIGGER leads_rollup_deleted AFTER DELETE ON leads REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_created_at();
DROP TRIGGER videos_rollup_inserted ON videos;
CREATE TRIGGER videos_rollup_inserted AFTER INSERT ON videos REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_created_at();
DROP TRIGGER videos_rollup_updated_new ON videos;
CREATE TRIGGER videos_rollup_updated_new AFTER UPDATE ON videos REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_created_at();
DROP TRIGGER videos_rollup_updated_old ON videos;
CREATE TRIGGER videos_rollup_updated_old AFTER UPDATE ON videos REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_created_at();
DROP TRIGGER videos_rollup_deleted ON videos;
CREATE TRIGGER videos_rollup_deleted AFTER DELETE ON videos REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_created_at();
DROP TRIGGER ai_gym_performance_rollup_inserted ON ai_gym_performance;
CREATE TRIGGER ai_gym_performance_rollup_inserted AFTER INSERT ON ai_gym_performance REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_created_at();
DROP TRIGGER ai_gym_performance_rollup_updated_new ON ai_gym_performance;
CREATE TRIGGER ai_gym_performance_rollup_updated_new AFTER UPDATE ON ai_gym_performance REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_created_at();
DROP TRIGGER ai_gym_performance_rollup_updated_old ON ai_gym_performance;
CREATE TRIGGER ai_gym_performance_rollup_updated_old AFTER UPDATE ON ai_gym_performance REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_created_at();
DROP TRIGGER ai_gym_performance_rollup_deleted ON ai_gym_performance;
CREATE TRIGGER ai_gym_performance_rollup_deleted AFTER DELETE ON ai_gym_performance REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_created_at();

-- The mark functions as 0011 made them.
CREATE OR REPLACE FUNCTION rollup_mark_created_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rollup_dirty_days (day)
    SELECT DISTINCT c.created_at::date FROM changed c, rollup_horizon h WHERE c.created_at < h.mark_below;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION rollup_mark_completed_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rollup_dirty_days (day)
    SELECT DISTINCT c.completed_at::date FROM changed c, rollup_horizon h WHERE c.completed_at < h.mark_below;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION rollup_mark_deployed_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rollup_dirty_days (day)
    SELECT DISTINCT c.deployed_at::date FROM changed c, rollup_horizon h WHERE c.deployed_at < h.mark_below;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION rollup_mark_won_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rollup_dirty_days (day)
    SELECT DISTINCT c.won_at::date FROM changed c, rollup_horizon h WHERE c.won_at < h.mark_below;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION rollup_mark_email_sends() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE OR REPLACE FUNCTION rollup_mark_email_update() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE OR REPLACE FUNCTION rollup_mark_lead_campaign() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rollup_dirty_days (day)
    SELECT DISTINCT e.sent_at::date
      FROM changed c
      JOIN email_sends e ON e.lead_id = c.lead_id AND e.campaign_id = c.campaign_id
     CROSS JOIN rollup_horizon h
     WHERE e.sent_at < h.mark_below;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION rollup_mark_conversation_messages() RETURNS trigger LANGUAGE plpgsql AS $$
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
ALTER TABLE rollup_dirty_days DROP COLUMN rollup, DROP COLUMN key;
