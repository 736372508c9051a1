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
