-- Up Migration
-- First touches, kept (issue 4: "refresh cost should not grow with total history"). A meeting is credited to the
-- lead's first delivered email of the campaign. email_send_outcomes found it by asking, for every delivered email,
-- whether an earlier delivered email of the same lead and campaign exists: a lookup in every monthly partition of
-- email_sends, so recounting a day got slower as partitions accumulated. campaign_first_touches holds the answer,
-- one row per (lead, campaign), kept by triggers on email_sends; the view asks it with one primary-key lookup.
--
-- The triggers keep it equal to "the delivered email with the smallest (sent_at, id)" of each (lead, campaign):
--   * an email inserted delivered, or updated to delivered, replaces the row when it is earlier (an upsert, which
--     locks the row, so concurrent writers of one pair take turns);
--   * when the first touch itself stops qualifying (bounced, unsent, moved to another lead or campaign, erased) or
--     is deleted, the pair is recounted from email_sends after locking its row (first_touch_forget);
--   * TRUNCATE empties it.
-- Rows moved between partitions by reachgraph_ensure_monthly_partitions keep their ids and fire no statement
-- trigger. A partition dropped by retention leaves its first touches in place: the credit stays where the closed
-- rollups counted it, and a later email of the pair is not a new first touch. No foreign keys: it is derived from
-- email_sends, whose lead and campaign keys it copies (an erased lead's rows go with its emails, and eraseLead
-- deletes any left by dropped partitions).
CREATE TABLE campaign_first_touches (
    lead_id UUID NOT NULL,
    campaign_id UUID NOT NULL,
    email_send_id UUID NOT NULL,
    sent_at TIMESTAMP NOT NULL,
    PRIMARY KEY (lead_id, campaign_id)
);

INSERT INTO campaign_first_touches (lead_id, campaign_id, email_send_id, sent_at)
SELECT DISTINCT ON (lead_id, campaign_id) lead_id, campaign_id, id, sent_at
  FROM email_sends
 WHERE status = 'sent' AND sent_at IS NOT NULL AND lead_id IS NOT NULL AND campaign_id IS NOT NULL
 ORDER BY lead_id, campaign_id, sent_at, id;

-- An email that may be its pair's first touch stopped qualifying (bounced, unsent, moved, erased, deleted): when it
-- was the first touch, the pair is recounted from email_sends. The pair's row is locked before it is read, so a
-- concurrent writer that moved this pair's first touch has committed, and the recount (a statement, so a snapshot,
-- of its own) sees its writes.
CREATE FUNCTION first_touch_forget(p_lead uuid, p_campaign uuid, p_email uuid) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    kept uuid;
    first record;
BEGIN
    SELECT email_send_id INTO kept
      FROM campaign_first_touches WHERE lead_id = p_lead AND campaign_id = p_campaign FOR UPDATE;
    IF kept IS DISTINCT FROM p_email THEN
        RETURN;
    END IF;
    SELECT e.id, e.sent_at INTO first
      FROM email_sends e
     WHERE e.lead_id = p_lead AND e.campaign_id = p_campaign AND e.status = 'sent' AND e.sent_at IS NOT NULL
     ORDER BY e.sent_at, e.id
     LIMIT 1;
    IF first.id IS NULL THEN
        DELETE FROM campaign_first_touches WHERE lead_id = p_lead AND campaign_id = p_campaign;
    ELSE
        UPDATE campaign_first_touches SET email_send_id = first.id, sent_at = first.sent_at
         WHERE lead_id = p_lead AND campaign_id = p_campaign;
    END IF;
END $$;

-- Inserted emails: the earliest delivered one of each pair, when earlier than the pair's first touch.
CREATE FUNCTION first_touch_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO campaign_first_touches AS t (lead_id, campaign_id, email_send_id, sent_at)
    SELECT DISTINCT ON (c.lead_id, c.campaign_id) c.lead_id, c.campaign_id, c.id, c.sent_at
      FROM changed c
     WHERE c.status = 'sent' AND c.sent_at IS NOT NULL AND c.lead_id IS NOT NULL AND c.campaign_id IS NOT NULL
     ORDER BY c.lead_id, c.campaign_id, c.sent_at, c.id
    ON CONFLICT (lead_id, campaign_id) DO UPDATE SET email_send_id = excluded.email_send_id, sent_at = excluded.sent_at
     WHERE (excluded.sent_at, excluded.email_send_id) < (t.sent_at, t.email_send_id);
    RETURN NULL;
END $$;

-- An email whose status, sent_at, lead or campaign changed (the WHEN of the trigger): the old pair forgets it
-- when it was delivered (it may have been the first touch); the new pair takes it when it is delivered and earlier.
CREATE FUNCTION first_touch_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'sent' AND OLD.sent_at IS NOT NULL AND OLD.lead_id IS NOT NULL AND OLD.campaign_id IS NOT NULL THEN
        PERFORM first_touch_forget(OLD.lead_id, OLD.campaign_id, OLD.id);
    END IF;
    IF NEW.status = 'sent' AND NEW.sent_at IS NOT NULL AND NEW.lead_id IS NOT NULL AND NEW.campaign_id IS NOT NULL THEN
        INSERT INTO campaign_first_touches AS t (lead_id, campaign_id, email_send_id, sent_at)
        VALUES (NEW.lead_id, NEW.campaign_id, NEW.id, NEW.sent_at)
        ON CONFLICT (lead_id, campaign_id) DO UPDATE SET email_send_id = excluded.email_send_id, sent_at = excluded.sent_at
         WHERE (excluded.sent_at, excluded.email_send_id) < (t.sent_at, t.email_send_id);
    END IF;
    RETURN NULL;
END $$;

-- Deleted emails: each pair forgets its delivered ones (in key order, so concurrent deletes lock pairs alike).
CREATE FUNCTION first_touch_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    gone record;
BEGIN
    FOR gone IN
        SELECT c.lead_id, c.campaign_id, c.id
          FROM changed c
         WHERE c.status = 'sent' AND c.sent_at IS NOT NULL AND c.lead_id IS NOT NULL AND c.campaign_id IS NOT NULL
         ORDER BY c.lead_id, c.campaign_id, c.sent_at, c.id
    LOOP
        PERFORM first_touch_forget(gone.lead_id, gone.campaign_id, gone.id);
    END LOOP;
    RETURN NULL;
END $$;

CREATE FUNCTION first_touch_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE campaign_first_touches;
    RETURN NULL;
END $$;

CREATE TRIGGER email_sends_first_touch_inserted AFTER INSERT ON email_sends REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION first_touch_inserted();
CREATE TRIGGER email_sends_first_touch_updated AFTER UPDATE ON email_sends FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.sent_at IS DISTINCT FROM NEW.sent_at
          OR OLD.lead_id IS DISTINCT FROM NEW.lead_id OR OLD.campaign_id IS DISTINCT FROM NEW.campaign_id)
    EXECUTE FUNCTION first_touch_updated();
CREATE TRIGGER email_sends_first_touch_deleted AFTER DELETE ON email_sends REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION first_touch_deleted();
CREATE TRIGGER email_sends_first_touch_truncated AFTER TRUNCATE ON email_sends
    FOR EACH STATEMENT EXECUTE FUNCTION first_touch_truncated();

-- views/email_send_outcomes.sql
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

-- Down Migration
-- The view as 0011 made it.
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
       (s.sent_at IS NOT NULL AND s.status = 'sent' AND s.lead_id IS NOT NULL AND s.campaign_id IS NOT NULL
        AND NOT EXISTS (
            SELECT 1 FROM email_sends e
             WHERE e.lead_id = s.lead_id AND e.campaign_id = s.campaign_id
               AND e.status = 'sent' AND e.sent_at IS NOT NULL AND (e.sent_at, e.id) < (s.sent_at, s.id))
        AND EXISTS (
            SELECT 1 FROM meetings m
             WHERE m.lead_id = s.lead_id AND m.campaign_id = s.campaign_id AND m.booked_at >= s.sent_at))
         AS meeting_booked
  FROM email_sends s;
DROP TRIGGER email_sends_first_touch_truncated ON email_sends;
DROP TRIGGER email_sends_first_touch_deleted ON email_sends;
DROP TRIGGER email_sends_first_touch_updated ON email_sends;
DROP TRIGGER email_sends_first_touch_inserted ON email_sends;
DROP FUNCTION first_touch_truncated, first_touch_deleted, first_touch_updated, first_touch_inserted, first_touch_forget;
DROP TABLE campaign_first_touches;
