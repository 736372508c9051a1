-- Campaign funnel per campaign × 15-minute UTC bucket (spec §9: reply rate, meeting booking rate). Emails count in
-- the bucket they were sent (queued: the bucket they were queued). 15 minutes is the finest UTC offset step of any
-- time zone, so a day, week or month in any IANA zone is an exact sum of buckets.
--
-- Like every rollup here it is one declaration (views/README.md, rollup-machinery.sql): the closed table's columns
-- and key, the aggregate of the buckets in [lo, hi) straight from the base tables (of the campaigns in keys; NULL:
-- all), and what writes change it — an email's queued day, and its sent day by the email outcome rules. From it
-- come campaign_kpis_15m_between(lo, hi, keys), campaign_kpis_15m_closed (the buckets before the rollup horizon,
-- rewritten only for the days and campaigns that changed), campaign_kpis_15m_open (the materialized view of the
-- buckets from the horizon on) and campaign_kpis_15m, the view readers use, which is both.
CALL rollup_define(
    name => 'campaign_kpis_15m',
    columns => 'campaign_id UUID NOT NULL, bucket TIMESTAMP NOT NULL, queued INTEGER NOT NULL, sent INTEGER NOT NULL,
                bounced INTEGER NOT NULL, delivered INTEGER NOT NULL, opened INTEGER NOT NULL,
                clicked INTEGER NOT NULL, replied INTEGER NOT NULL, positive_replies INTEGER NOT NULL,
                meetings_booked INTEGER NOT NULL',
    primary_key => 'campaign_id, bucket',
    bucket => 'bucket',
    bucket_seconds => 900,
    key_column => 'campaign_id',
    marks => '{email_sends.created_at, email_send_outcomes.sent_at}',
    open_bucket_index => true,
    aggregate => $$
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
$$);

-- Its hours and days per campaign, so that a period reads a row per whole UTC day and hour in it (rollup_coarsen).
CALL rollup_coarsen('campaign_kpis_15m');
