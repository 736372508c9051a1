-- Platform activity per 15-minute UTC bucket: leads scraped (created_at), analyses completed (completed_at), demos
-- deployed (deployed_at), videos ready (status ready or archived, on created_at: videos have no ready timestamp),
-- emails sent (sent_at, any campaign) and AI spend (sum of AI-GYM cost, created_at).
-- Declared as campaign_kpis_15m.sql is; one row per bucket (not keyed): a write marks the whole day of its row when
-- it is closed, its 15-minute bucket in the open window.
CALL rollup_define(
    name => 'platform_kpis_15m',
    columns => 'bucket TIMESTAMP NOT NULL, leads_scraped INTEGER NOT NULL, analyses_completed INTEGER NOT NULL,
                demos_deployed INTEGER NOT NULL, videos_ready INTEGER NOT NULL, emails_sent INTEGER NOT NULL,
                ai_runs INTEGER NOT NULL, ai_spend NUMERIC NOT NULL',
    primary_key => 'bucket',
    bucket => 'bucket',
    bucket_seconds => 900,
    marks => '{leads.created_at, website_analyses.completed_at, demo_sites.deployed_at, videos.created_at,
               email_sends.sent_at, ai_gym_performance.created_at}',
    aggregate => $$
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
$$);

-- Its hours and days, so that a period reads a row per whole UTC day and hour in it (rollup_coarsen).
CALL rollup_coarsen('platform_kpis_15m');
