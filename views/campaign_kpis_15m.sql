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
