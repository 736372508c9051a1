-- Up Migration
-- Read side (issue 4): the KPI rollups, AI-GYM leaderboards and A/B results of spec §9 as materialized views, and
-- the log of their refreshes. The view definitions below are copies of views/<name>.sql at this version: a
-- migration is history and never changes, while views/ holds the current definition. test/views.test.ts fails
-- when the database's definition of a view differs from its file, so a change to views/ needs a new migration.

-- Every refresh of the materialized views: one row per view per refresh, written in the refresh's transaction.
-- as_of is the moment the refreshed data is current to (the refresh transaction's snapshot); answers built on a
-- view report it.
CREATE TABLE view_refreshes (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    view_name VARCHAR(63) NOT NULL,
    as_of TIMESTAMP NOT NULL,
    duration_ms INTEGER NOT NULL CHECK (duration_ms >= 0),
    row_count BIGINT NOT NULL CHECK (row_count >= 0),
    trigger VARCHAR(20) NOT NULL CHECK (trigger IN ('migration', 'startup', 'schedule', 'admin', 'test')),
    created_at TIMESTAMP NOT NULL DEFAULT NOW()
);
CREATE INDEX view_refreshes_view_name_idx ON view_refreshes (view_name, as_of);

-- The leaderboard reads the partial first day of a rolling period from the base table.
CREATE INDEX ai_gym_performance_task_type_created_at_idx ON ai_gym_performance (task_type, created_at);

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

-- The views were filled as they were created: that is their first refresh.
INSERT INTO view_refreshes (view_name, as_of, duration_ms, row_count, trigger)
SELECT 'campaign_kpis_15m', NOW(), 0, (SELECT count(*) FROM campaign_kpis_15m), 'migration'
UNION ALL
SELECT 'campaign_revenue_15m', NOW(), 0, (SELECT count(*) FROM campaign_revenue_15m), 'migration'
UNION ALL
SELECT 'platform_kpis_15m', NOW(), 0, (SELECT count(*) FROM platform_kpis_15m), 'migration'
UNION ALL
SELECT 'ai_gym_daily', NOW(), 0, (SELECT count(*) FROM ai_gym_daily), 'migration'
UNION ALL
SELECT 'ai_gym_durations_daily', NOW(), 0, (SELECT count(*) FROM ai_gym_durations_daily), 'migration'
UNION ALL
SELECT 'ab_variant_results', NOW(), 0, (SELECT count(*) FROM ab_variant_results), 'migration';

-- Down Migration
DROP MATERIALIZED VIEW ab_variant_results;
DROP MATERIALIZED VIEW ai_gym_durations_daily;
DROP MATERIALIZED VIEW ai_gym_daily;
DROP MATERIALIZED VIEW platform_kpis_15m;
DROP MATERIALIZED VIEW campaign_revenue_15m;
DROP MATERIALIZED VIEW campaign_kpis_15m;
DROP VIEW email_send_outcomes;
DROP INDEX ai_gym_performance_task_type_created_at_idx;
DROP TABLE view_refreshes;
