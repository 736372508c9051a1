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
  FROM (SELECT campaign_id, date_bin('15 minutes', created_at, TIMESTAMP '2000-01-01') AS bucket,
               1 AS queued, 0 AS sent, 0 AS bounced, 0 AS delivered, 0 AS opened, 0 AS clicked, 0 AS replied,
               0 AS positive_replies, 0 AS meetings_booked
          FROM email_send_outcomes
         WHERE campaign_id IS NOT NULL
        UNION ALL
        SELECT campaign_id, date_bin('15 minutes', sent_at, TIMESTAMP '2000-01-01'),
               0, 1, bounced::int, delivered::int, opened::int, clicked::int, replied::int,
               positive_reply::int, meeting_booked::int
          FROM email_send_outcomes
         WHERE campaign_id IS NOT NULL AND sent) AS facts
 GROUP BY campaign_id, bucket;
CREATE UNIQUE INDEX campaign_kpis_15m_key ON campaign_kpis_15m (campaign_id, bucket);
CREATE INDEX campaign_kpis_15m_bucket_idx ON campaign_kpis_15m (bucket);
