-- The outreach funnel of all campaigns together per 15-minute UTC bucket: campaign_kpis_15m summed over its
-- campaigns (the same facts, the same rules), so that the overview reads at most 96 rows a day whatever the number
-- of campaigns and emails, instead of a row per campaign and bucket. Not keyed: a write marks its whole bucket (or
-- closed day), as platform_kpis_15m's do.
CALL rollup_define(
    name => 'outreach_kpis_15m',
    columns => 'bucket TIMESTAMP NOT NULL, queued INTEGER NOT NULL, sent INTEGER NOT NULL, bounced INTEGER NOT NULL,
                delivered INTEGER NOT NULL, opened INTEGER NOT NULL, clicked INTEGER NOT NULL,
                replied INTEGER NOT NULL, positive_replies INTEGER NOT NULL, meetings_booked INTEGER NOT NULL',
    primary_key => 'bucket',
    bucket => 'bucket',
    bucket_seconds => 900,
    marks => '{email_sends.created_at, email_send_outcomes.sent_at}',
    aggregate => $$
SELECT bucket, sum(queued)::int, sum(sent)::int, sum(bounced)::int, sum(delivered)::int, sum(opened)::int,
       sum(clicked)::int, sum(replied)::int, sum(positive_replies)::int, sum(meetings_booked)::int
  FROM (SELECT date_bin('15 minutes', s.created_at, TIMESTAMP '2000-01-01') AS bucket,
               1 AS queued, 0 AS sent, 0 AS bounced, 0 AS delivered, 0 AS opened, 0 AS clicked, 0 AS replied,
               0 AS positive_replies, 0 AS meetings_booked
          FROM email_sends s
         WHERE s.campaign_id IS NOT NULL AND s.created_at >= lo AND s.created_at < hi
        UNION ALL
        SELECT date_bin('15 minutes', o.sent_at, TIMESTAMP '2000-01-01'), 0, 1, o.bounced::int, o.delivered::int,
               o.opened::int, o.clicked::int, o.replied::int, o.positive_reply::int, o.meeting_booked::int
          FROM email_send_outcomes o
         WHERE o.campaign_id IS NOT NULL AND o.sent AND o.sent_at >= lo AND o.sent_at < hi) AS facts
 GROUP BY bucket
$$);

-- Its hours and days, so that a period reads a row per whole UTC day and hour in it (rollup_coarsen).
CALL rollup_coarsen('outreach_kpis_15m');
