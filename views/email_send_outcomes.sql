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
