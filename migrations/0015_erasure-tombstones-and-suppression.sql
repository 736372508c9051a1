-- Up Migration
-- Erasure that keeps metrics (issue 12; spec §5 "cascade delete lead data & associated assets while retaining
-- anonymized metrics"), tokenization and column encryption of contact PII, and suppression of erased leads.
--
-- Until now erasure deleted the lead and its analyses, demos, videos and conversations and nulled lead_id
-- elsewhere, and the closed-day triggers then recounted: "leads scraped", "demos deployed", positive replies and
-- first-touch meetings dropped for every day the lead touched. Now erasure tombstones: the leads row stays, with
-- `erased_at` set and every PII column emptied, and the metric-bearing rows stay attached to it with their PII
-- stripped. Every count and every first touch still holds, so no recount can change a number.
--
-- - leads.erased_at: when the lead was erased (NULL: a live lead). Erased leads are invisible to the API.
-- - leads.email_token / domain_token: HMAC-SHA256 blind indexes (src/compliance/tokens.ts) of the contact email
--   and the domain — the keyed stand-in for a person that analytics and suppression use instead of the address.
-- - leads.contact_name / contact_email / contact_phone hold AES-256-GCM ciphertext (src/compliance/
--   field-encryption.ts), longer than the plaintext: VARCHAR(n) becomes TEXT (binary-coercible: no table rewrite,
--   a brief ACCESS EXCLUSIVE lock for the catalog change only). Rows written before encryption stay readable as
--   plaintext until `npm run keys:rotate` encrypts them.
-- - lead_suppressions: the tokens of erased leads' domain and contact email, so that a later ingest of the same
--   lead is refused (409 lead-suppressed) until an admin lifts it (Segment's SUPPRESS_WITH_DELETE). Tokens only:
--   the address itself is gone. token_key_id names the tokenization key that made the token (rotation).
-- - reachgraph_refuse_erased_lead(): triggers that refuse any new row, or any change to a row, for an erased lead
--   (SQLSTATE RGE01 → 409 lead-erased), so that a worker finishing late cannot write PII back. Erasure itself sets
--   `reachgraph.erasing` for its transaction. An insert takes the lead's KEY SHARE lock first: erasure holds the
--   lead FOR UPDATE, so a concurrent insert waits for it and then sees erased_at, or erasure waits for the insert
--   and then strips its row too.
ALTER TABLE leads
    ADD COLUMN erased_at TIMESTAMP,
    ADD COLUMN email_token CHAR(64),
    ADD COLUMN domain_token CHAR(64),
    ALTER COLUMN contact_name TYPE TEXT,
    ALTER COLUMN contact_email TYPE TEXT,
    ALTER COLUMN contact_phone TYPE TEXT;
CREATE INDEX leads_email_token_idx ON leads (email_token) WHERE email_token IS NOT NULL;
CREATE INDEX leads_domain_token_idx ON leads (domain_token) WHERE domain_token IS NOT NULL;

-- Erasure redacts the asset URLs in the lead's demo.deployed / video.ready events: find them without a scan.
CREATE INDEX event_outbox_asset_lead_idx ON event_outbox ((payload->>'lead_id'))
    WHERE type IN ('demo.deployed', 'video.ready');

CREATE TABLE lead_suppressions (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    kind VARCHAR(10) NOT NULL CHECK (kind IN ('email', 'domain')),
    token CHAR(64) NOT NULL,
    token_key_id VARCHAR(16) NOT NULL,
    lead_id UUID REFERENCES leads(id),
    created_at TIMESTAMP NOT NULL DEFAULT NOW(),
    lifted_at TIMESTAMP,
    lifted_by VARCHAR(255)
);
-- One active suppression per token; lifted ones stay as history.
CREATE UNIQUE INDEX lead_suppressions_active_key ON lead_suppressions (token, kind) WHERE lifted_at IS NULL;
CREATE INDEX lead_suppressions_lead_id_idx ON lead_suppressions (lead_id);

CREATE FUNCTION reachgraph_refuse_erased_lead() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    erased uuid;
BEGIN
    IF current_setting('reachgraph.erasing', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_TABLE_NAME = 'conversation_messages' THEN
        PERFORM 1 FROM leads l
         WHERE l.id IN (SELECT cv.lead_id FROM changed c JOIN conversations cv ON cv.id = c.conversation_id)
         ORDER BY l.id FOR KEY SHARE;
        SELECT l.id INTO erased FROM leads l
         WHERE l.id IN (SELECT cv.lead_id FROM changed c JOIN conversations cv ON cv.id = c.conversation_id)
           AND l.erased_at IS NOT NULL
         LIMIT 1;
    ELSE
        PERFORM 1 FROM leads l WHERE l.id IN (SELECT c.lead_id FROM changed c) ORDER BY l.id FOR KEY SHARE;
        SELECT l.id INTO erased FROM leads l
         WHERE l.id IN (SELECT c.lead_id FROM changed c) AND l.erased_at IS NOT NULL
         LIMIT 1;
    END IF;
    IF erased IS NOT NULL THEN
        RAISE EXCEPTION 'lead % was erased', erased USING ERRCODE = 'RGE01';
    END IF;
    RETURN NULL;
END $$;

-- New rows for an erased lead, in every table that holds a lead's data.
CREATE TRIGGER website_analyses_refuse_erased AFTER INSERT ON website_analyses REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION reachgraph_refuse_erased_lead();
CREATE TRIGGER demo_sites_refuse_erased AFTER INSERT ON demo_sites REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION reachgraph_refuse_erased_lead();
CREATE TRIGGER videos_refuse_erased AFTER INSERT ON videos REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION reachgraph_refuse_erased_lead();
CREATE TRIGGER email_sends_refuse_erased AFTER INSERT ON email_sends REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION reachgraph_refuse_erased_lead();
CREATE TRIGGER conversations_refuse_erased AFTER INSERT ON conversations REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION reachgraph_refuse_erased_lead();
CREATE TRIGGER conversation_messages_refuse_erased AFTER INSERT ON conversation_messages
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION reachgraph_refuse_erased_lead();
CREATE TRIGGER meetings_refuse_erased AFTER INSERT ON meetings REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION reachgraph_refuse_erased_lead();
CREATE TRIGGER deals_refuse_erased AFTER INSERT ON deals REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION reachgraph_refuse_erased_lead();
CREATE TRIGGER ai_gym_performance_refuse_erased AFTER INSERT ON ai_gym_performance REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION reachgraph_refuse_erased_lead();
CREATE TRIGGER work_items_refuse_erased AFTER INSERT ON work_items REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION reachgraph_refuse_erased_lead();
-- Changes to the rows that carry free text or URLs (a late worker completing an analysis, a demo deployed, a
-- thread updated). Erasure updates every one of these rows of the lead, so a concurrent update serialises on the
-- row lock and sees erased_at afterwards: no lead lock is needed. Email sends, meetings, deals and AI-GYM rows
-- are changed by their own ids and tokens (which erasure clears) and on hot paths: no trigger there.
CREATE TRIGGER website_analyses_refuse_erased_update AFTER UPDATE ON website_analyses
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION reachgraph_refuse_erased_lead();
CREATE TRIGGER demo_sites_refuse_erased_update AFTER UPDATE ON demo_sites REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION reachgraph_refuse_erased_lead();
CREATE TRIGGER videos_refuse_erased_update AFTER UPDATE ON videos REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION reachgraph_refuse_erased_lead();
CREATE TRIGGER conversations_refuse_erased_update AFTER UPDATE ON conversations REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION reachgraph_refuse_erased_lead();
CREATE TRIGGER conversation_messages_refuse_erased_update AFTER UPDATE ON conversation_messages
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION reachgraph_refuse_erased_lead();

-- Down Migration
-- Fails if erased (tombstoned) leads exist and their ciphertexts exceed the old VARCHAR lengths; decrypt or erase
-- those first to revert.
DROP TRIGGER conversation_messages_refuse_erased_update ON conversation_messages;
DROP TRIGGER conversations_refuse_erased_update ON conversations;
DROP TRIGGER videos_refuse_erased_update ON videos;
DROP TRIGGER demo_sites_refuse_erased_update ON demo_sites;
DROP TRIGGER website_analyses_refuse_erased_update ON website_analyses;
DROP TRIGGER work_items_refuse_erased ON work_items;
DROP TRIGGER ai_gym_performance_refuse_erased ON ai_gym_performance;
DROP TRIGGER deals_refuse_erased ON deals;
DROP TRIGGER meetings_refuse_erased ON meetings;
DROP TRIGGER conversation_messages_refuse_erased ON conversation_messages;
DROP TRIGGER conversations_refuse_erased ON conversations;
DROP TRIGGER email_sends_refuse_erased ON email_sends;
DROP TRIGGER videos_refuse_erased ON videos;
DROP TRIGGER demo_sites_refuse_erased ON demo_sites;
DROP TRIGGER website_analyses_refuse_erased ON website_analyses;
DROP FUNCTION reachgraph_refuse_erased_lead();
DROP TABLE lead_suppressions;
DROP INDEX event_outbox_asset_lead_idx;
DROP INDEX leads_domain_token_idx;
DROP INDEX leads_email_token_idx;
ALTER TABLE leads
    ALTER COLUMN contact_phone TYPE VARCHAR(50),
    ALTER COLUMN contact_email TYPE VARCHAR(255),
    ALTER COLUMN contact_name TYPE VARCHAR(255),
    DROP COLUMN domain_token,
    DROP COLUMN email_token,
    DROP COLUMN erased_at;
