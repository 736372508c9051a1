-- One row per email with the outcomes the KPI contract counts (README "KPI definitions"). A plain view: the rollups
-- below aggregate it, so the rules live in one place. Every outcome is an index lookup by the email's own lead and
-- campaign in a table that is not partitioned by time, so a range of sent_at reads only the emails in it, at a cost
-- per email that does not grow with the history.
--   sent       = status sent or bounced (queued, sending and failed emails are not sent), counted on sent_at
--   delivered  = sent and not bounced
--   opened / clicked = delivered with the timestamp set
--   The thread of an email: the lead's conversations in this campaign (for this email, or not tied to one); a
--   message's effective reply category is COALESCE(reply_category_corrected, reply_category), grouped by
--   reply_category_group() (migration 0021).
--   replied      = delivered, replied_at set, and a human answered: the thread has an inbound message whose
--                  effective category is not automatic (out_of_office, auto_reply, bounce), or the thread has no
--                  automatic inbound message either (a reply stamped without a classified message still counts)
--                  (a send whose thread's inbound messages are all automatic is an automatic reply, not counted)
--   positive_reply = replied, with an inbound message in the thread whose effective category is in the positive
--                    group (interested, meeting_request)
--   meeting_booked = first touch: a lead's meeting in a campaign is credited once, to the lead's first delivered
--                    email of that campaign (earliest sent_at, then id: campaign_first_touches, kept by the
--                    triggers of migration 0012), when a meeting was booked at or after it
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
       (s.sent_at IS NOT NULL AND s.status = 'sent' AND s.replied_at IS NOT NULL
        AND (r.human OR NOT r.automatic)) AS replied,
       (s.sent_at IS NOT NULL AND s.status = 'sent' AND s.replied_at IS NOT NULL
        AND (r.human OR NOT r.automatic) AND r.positive) AS positive_reply,
       (s.sent_at IS NOT NULL AND s.status = 'sent' AND EXISTS (
            SELECT 1 FROM meetings m
             WHERE m.lead_id = s.lead_id AND m.campaign_id = s.campaign_id AND m.booked_at >= s.sent_at)
        AND EXISTS (
            SELECT 1 FROM campaign_first_touches f
             WHERE f.lead_id = s.lead_id AND f.campaign_id = s.campaign_id AND f.email_send_id = s.id))
         AS meeting_booked
  FROM email_sends s
  CROSS JOIN LATERAL (
       SELECT COALESCE(bool_or(g.grp IS DISTINCT FROM 'automatic'), false) AS human,
              COALESCE(bool_or(g.grp = 'automatic'), false) AS automatic,
              COALESCE(bool_or(g.grp = 'positive'), false) AS positive
         FROM conversations c
         JOIN conversation_messages m ON m.conversation_id = c.id
        CROSS JOIN LATERAL (
              -- reply_category_group() inlined for the two groups the KPIs need (a function call would tie the
              -- view's printed definition to a schema).
              SELECT CASE
                       WHEN COALESCE(m.reply_category_corrected, m.reply_category)
                            IN ('out_of_office', 'auto_reply', 'bounce') THEN 'automatic'
                       WHEN COALESCE(m.reply_category_corrected, m.reply_category)
                            IN ('interested', 'meeting_request') THEN 'positive'
                     END AS grp) g
        WHERE s.replied_at IS NOT NULL
          AND c.lead_id = s.lead_id AND c.campaign_id = s.campaign_id
          AND (c.email_send_id IS NULL OR c.email_send_id = s.id)
          AND m.direction = 'inbound') r;
