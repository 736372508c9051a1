-- Up Migration
-- Distinct recipients per campaign (issue 12, spec §5 "tokenization for email addresses in analytics"): the people a
-- campaign has delivered an email to, counted by the keyed token of their address (leads.email_token), never by
-- the address. Two leads with the same contact email are one person; a lead erased later is still counted (its
-- tombstone keeps the token), and so is one whose emails a retention run dropped with their partition: the table
-- is the record, kept by the triggers below, not recounted from email_sends.
--
-- - An email inserted already delivered (the seeder, an import): a statement trigger over the new rows.
-- - An email reported delivered: a row trigger whose WHEN skips every other update (opens, clicks, leases) without
--   running a function, as the rollup marks do (migration 0011).
-- Leads without a token (no contact email, or rows from before migration 0015 that `npm run keys:rotate` has not
-- tokenized yet) are not counted. The backfill below covers emails delivered before this migration; it reads every
-- delivered email once (a sequential scan of email_sends) inside the migration's transaction.
CREATE TABLE campaign_recipients (
    campaign_id UUID NOT NULL REFERENCES campaigns(id),
    email_token CHAR(64) NOT NULL,
    first_delivered_at TIMESTAMP NOT NULL,
    PRIMARY KEY (campaign_id, email_token)
);

CREATE FUNCTION reachgraph_note_recipients() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_LEVEL = 'ROW' THEN
        INSERT INTO campaign_recipients (campaign_id, email_token, first_delivered_at)
        SELECT NEW.campaign_id, l.email_token, NEW.sent_at
          FROM leads l
         WHERE l.id = NEW.lead_id AND l.email_token IS NOT NULL
        ON CONFLICT (campaign_id, email_token) DO UPDATE
           SET first_delivered_at = least(campaign_recipients.first_delivered_at, EXCLUDED.first_delivered_at);
    ELSE
        -- Sorted, so that two batches touching the same people take their row locks in the same order.
        INSERT INTO campaign_recipients (campaign_id, email_token, first_delivered_at)
        SELECT c.campaign_id, l.email_token, min(c.sent_at)
          FROM changed c JOIN leads l ON l.id = c.lead_id
         WHERE c.status = 'sent' AND c.sent_at IS NOT NULL AND c.campaign_id IS NOT NULL
           AND l.email_token IS NOT NULL
         GROUP BY 1, 2
         ORDER BY 1, 2
        ON CONFLICT (campaign_id, email_token) DO UPDATE
           SET first_delivered_at = least(campaign_recipients.first_delivered_at, EXCLUDED.first_delivered_at);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER email_sends_recipients_inserted AFTER INSERT ON email_sends REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION reachgraph_note_recipients();
CREATE TRIGGER email_sends_recipients_delivered AFTER UPDATE ON email_sends FOR EACH ROW
    WHEN (NEW.status = 'sent' AND NEW.sent_at IS NOT NULL AND NEW.campaign_id IS NOT NULL
          AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION reachgraph_note_recipients();

INSERT INTO campaign_recipients (campaign_id, email_token, first_delivered_at)
SELECT e.campaign_id, l.email_token, min(e.sent_at)
  FROM email_sends e JOIN leads l ON l.id = e.lead_id
 WHERE e.status = 'sent' AND e.sent_at IS NOT NULL AND e.campaign_id IS NOT NULL AND l.email_token IS NOT NULL
 GROUP BY 1, 2;

-- Down Migration
DROP TRIGGER email_sends_recipients_delivered ON email_sends;
DROP TRIGGER email_sends_recipients_inserted ON email_sends;
DROP FUNCTION reachgraph_note_recipients();
DROP TABLE campaign_recipients;
