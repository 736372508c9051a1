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
