-- Up Migration
-- Reply taxonomy (issue 13 part 1; README "Reply taxonomy"). Every inbound message carries the category its
-- classifier posted (reply_category, with reply_category_model and reply_category_confidence) and, beside it, a
-- human's verdict (reply_category_corrected/_at/_by): the effective category is
-- COALESCE(reply_category_corrected, reply_category). `sentiment` stays as the spec column with its old meaning.
--
-- Locks and backfill: ALTER TABLE ... ADD COLUMN without defaults is a catalog change (brief ACCESS EXCLUSIVE locks
-- on conversation_messages and leads); the backfill then rewrites every inbound message once, in this migration's
-- transaction. It is idempotent (it only fills rows whose reply_category is NULL), so re-running the UPDATEs by hand
-- is safe. The rollup mark triggers record the touched days; a '-infinity' mark recounts all unsealed history
-- because email_send_outcomes' replied/positive_reply rules change.

ALTER TABLE conversation_messages
    ADD COLUMN reply_category VARCHAR(32),
    ADD COLUMN reply_category_model VARCHAR(100),
    ADD COLUMN reply_category_confidence DOUBLE PRECISION,
    ADD COLUMN reply_category_corrected VARCHAR(32),
    ADD COLUMN reply_category_corrected_at TIMESTAMP,
    ADD COLUMN reply_category_corrected_by VARCHAR(255),
    ADD CONSTRAINT conversation_messages_reply_category_check CHECK (reply_category IN (
        'interested', 'meeting_request', 'information_request', 'not_now', 'not_interested', 'wrong_person',
        'out_of_office', 'auto_reply', 'unsubscribe', 'bounce', 'uncategorized')),
    ADD CONSTRAINT conversation_messages_reply_category_corrected_check CHECK (reply_category_corrected IN (
        'interested', 'meeting_request', 'information_request', 'not_now', 'not_interested', 'wrong_person',
        'out_of_office', 'auto_reply', 'unsubscribe', 'bounce', 'uncategorized')),
    ADD CONSTRAINT conversation_messages_reply_category_confidence_check
        CHECK (reply_category_confidence >= 0 AND reply_category_confidence <= 1),
    -- Only replies are classified: an outbound message has no category.
    ADD CONSTRAINT conversation_messages_reply_category_inbound_check
        CHECK (direction = 'inbound' OR (reply_category IS NULL AND reply_category_corrected IS NULL)),
    ADD CONSTRAINT conversation_messages_reply_category_corrected_complete_check
        CHECK ((reply_category_corrected IS NULL) = (reply_category_corrected_at IS NULL));

-- The unsubscribe of any campaign suppresses the lead for every campaign: the email claim fails its queued emails.
ALTER TABLE leads ADD COLUMN unsubscribed_at TIMESTAMP;

-- Groups of the taxonomy:
--   positive  = interested, meeting_request (the lead wants to talk)
--   neutral   = information_request, not_now, wrong_person, uncategorized (a human answered, no decision yet)
--   negative  = not_interested, unsubscribe
--   automatic = out_of_office, auto_reply, bounce (no human answered: not a reply in the reply rate)
-- NULL (and any unknown text) gives NULL.
CREATE FUNCTION reply_category_group(category text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURN CASE
        WHEN category IN ('interested', 'meeting_request') THEN 'positive'
        WHEN category IN ('information_request', 'not_now', 'wrong_person', 'uncategorized') THEN 'neutral'
        WHEN category IN ('not_interested', 'unsubscribe') THEN 'negative'
        WHEN category IN ('out_of_office', 'auto_reply', 'bounce') THEN 'automatic'
    END;

-- The documented mapping from the spec's free sentiment label to a category (README "Reply taxonomy"): used once
-- to backfill the inbound messages written before the taxonomy, and from now on for an inbound message written
-- without a category (an integration that posts only a sentiment, or SQL written by hand). Unknown labels and NULL
-- give 'uncategorized'.
CREATE FUNCTION reply_category_of_sentiment(sentiment text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURN CASE lower(sentiment)
        WHEN 'positive' THEN 'interested'
        WHEN 'interested' THEN 'interested'
        WHEN 'meeting_request' THEN 'meeting_request'
        WHEN 'negative' THEN 'not_interested'
        WHEN 'not_interested' THEN 'not_interested'
        WHEN 'objection' THEN 'not_now'
        WHEN 'not_now' THEN 'not_now'
        WHEN 'out_of_office' THEN 'out_of_office'
        WHEN 'auto_reply' THEN 'auto_reply'
        WHEN 'bounce' THEN 'bounce'
        WHEN 'unsubscribe' THEN 'unsubscribe'
        ELSE 'uncategorized'
    END;

-- The model is left NULL: no classifier posted these labels, so they count in no classifier's accuracy. Messages
-- of erased leads are updated too (a category is not personal data), so the erased-lead guard is switched off.
SELECT set_config('reachgraph.erasing', 'on', true);
UPDATE conversation_messages
   SET reply_category = reply_category_of_sentiment(sentiment)
 WHERE direction = 'inbound' AND reply_category IS NULL;
SELECT set_config('reachgraph.erasing', 'off', true);

CREATE FUNCTION conversation_messages_default_category() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.direction = 'inbound' AND NEW.reply_category IS NULL THEN
        NEW.reply_category := reply_category_of_sentiment(NEW.sentiment);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER conversation_messages_default_category BEFORE INSERT ON conversation_messages
    FOR EACH ROW EXECUTE FUNCTION conversation_messages_default_category();

UPDATE leads l
   SET unsubscribed_at = u.first_at
  FROM (SELECT c.lead_id, min(COALESCE(m.sent_at, 'epoch')) AS first_at
          FROM conversation_messages m JOIN conversations c ON c.id = m.conversation_id
         WHERE m.direction = 'inbound'
           AND COALESCE(m.reply_category_corrected, m.reply_category) = 'unsubscribe'
         GROUP BY c.lead_id) u
 WHERE l.id = u.lead_id AND l.unsubscribed_at IS NULL;

-- views/email_send_outcomes.sql (same columns: the rollups and their _open materialized views that read the view
-- keep their definitions, so CREATE OR REPLACE needs no drop and recreate of dependents).
CREATE OR REPLACE VIEW email_send_outcomes AS
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

-- Any inbound message can now change its email's outcomes (an automatic one decides whether a reply counts, any
-- category or correction whether it is positive), so the mark trigger of 0013 records every inbound message's
-- days, not only those of positive sentiment.
CREATE OR REPLACE FUNCTION rollup_mark_conversation_messages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rollup_dirty_days (day, rollup, key)
    SELECT DISTINCT e.sent_at::date, k.rollup, k.key
      FROM changed c
      JOIN conversations cv ON cv.id = c.conversation_id
      JOIN email_sends e ON e.lead_id = cv.lead_id AND e.campaign_id = cv.campaign_id
     CROSS JOIN LATERAL (VALUES ('campaign_kpis_15m', e.campaign_id),
                                ('ab_variant_results', e.ab_test_id)) AS k(rollup, key)
     CROSS JOIN rollup_horizon h
     WHERE c.direction = 'inbound' AND e.sent_at < h.mark_below
       AND k.key IS NOT NULL;
    RETURN NULL;
END $$;

INSERT INTO rollup_dirty_days (day) VALUES ('-infinity');

-- Down Migration
-- The view as 0012 made it; the rollups are recounted from the old rules.
CREATE OR REPLACE VIEW email_send_outcomes AS
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
            SELECT 1
              FROM conversations c
              JOIN conversation_messages m ON m.conversation_id = c.id
             WHERE c.lead_id = s.lead_id AND c.campaign_id = s.campaign_id
               AND (c.email_send_id IS NULL OR c.email_send_id = s.id)
               AND m.direction = 'inbound' AND m.sentiment = 'positive')) AS positive_reply,
       (s.sent_at IS NOT NULL AND s.status = 'sent' AND EXISTS (
            SELECT 1 FROM meetings m
             WHERE m.lead_id = s.lead_id AND m.campaign_id = s.campaign_id AND m.booked_at >= s.sent_at)
        AND EXISTS (
            SELECT 1 FROM campaign_first_touches f
             WHERE f.lead_id = s.lead_id AND f.campaign_id = s.campaign_id AND f.email_send_id = s.id))
         AS meeting_booked
  FROM email_sends s;
INSERT INTO rollup_dirty_days (day) VALUES ('-infinity');
CREATE OR REPLACE FUNCTION rollup_mark_conversation_messages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rollup_dirty_days (day, rollup, key)
    SELECT DISTINCT e.sent_at::date, k.rollup, k.key
      FROM changed c
      JOIN conversations cv ON cv.id = c.conversation_id
      JOIN email_sends e ON e.lead_id = cv.lead_id AND e.campaign_id = cv.campaign_id
     CROSS JOIN LATERAL (VALUES ('campaign_kpis_15m', e.campaign_id),
                                ('ab_variant_results', e.ab_test_id)) AS k(rollup, key)
     CROSS JOIN rollup_horizon h
     WHERE c.direction = 'inbound' AND c.sentiment = 'positive' AND e.sent_at < h.mark_below
       AND k.key IS NOT NULL;
    RETURN NULL;
END $$;
DROP TRIGGER conversation_messages_default_category ON conversation_messages;
DROP FUNCTION conversation_messages_default_category();
DROP FUNCTION reply_category_of_sentiment(text);
DROP FUNCTION reply_category_group(text);
ALTER TABLE leads DROP COLUMN unsubscribed_at;
ALTER TABLE conversation_messages
    DROP CONSTRAINT conversation_messages_reply_category_corrected_complete_check,
    DROP CONSTRAINT conversation_messages_reply_category_inbound_check,
    DROP CONSTRAINT conversation_messages_reply_category_confidence_check,
    DROP CONSTRAINT conversation_messages_reply_category_corrected_check,
    DROP CONSTRAINT conversation_messages_reply_category_check,
    DROP COLUMN reply_category_corrected_by,
    DROP COLUMN reply_category_corrected_at,
    DROP COLUMN reply_category_corrected,
    DROP COLUMN reply_category_confidence,
    DROP COLUMN reply_category_model,
    DROP COLUMN reply_category;
