-- Up Migration
-- Tables the Unified Contract needs but does not define:
-- - scraping_jobs: §3.2 /api/v2/scraping/jobs (source-agnostic). leads.scraping_job_id records provenance.
-- - meetings and deals: the outcomes behind §9's "meeting booking rate" and "revenue per campaign". A meeting or a
--   deal is attributed to the campaign whose outreach produced it. Amounts are NUMERIC(12,2) in the deal's ISO-4217
--   currency; converting currencies is the reporting layer's concern.
-- - A/B linkage: an experiment runs inside a campaign (ab_tests.campaign_id); every send records the test and
--   variant it was assigned (email_sends.ab_test_id/ab_variant), and the decision is kept (winning_variant,
--   decided_at) for the abtest.decided event.
-- Adding nullable columns to email_sends (partitioned) is a catalog-only change: no rewrite, brief lock.

CREATE TABLE scraping_jobs (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    source_type VARCHAR(50) NOT NULL,
    query JSONB NOT NULL DEFAULT '{}'::jsonb,
    filters JSONB,
    status VARCHAR(20) NOT NULL DEFAULT 'queued',
    leads_found INTEGER NOT NULL DEFAULT 0 CHECK (leads_found >= 0),
    leads_created INTEGER NOT NULL DEFAULT 0 CHECK (leads_created >= 0),
    leads_updated INTEGER NOT NULL DEFAULT 0 CHECK (leads_updated >= 0),
    error TEXT,
    created_at TIMESTAMP NOT NULL DEFAULT NOW(),
    started_at TIMESTAMP,
    finished_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL DEFAULT NOW()
);
CREATE INDEX scraping_jobs_status_idx ON scraping_jobs (status, created_at);

ALTER TABLE leads ADD COLUMN scraping_job_id UUID REFERENCES scraping_jobs(id);
CREATE INDEX leads_scraping_job_id_idx ON leads (scraping_job_id);

CREATE TABLE meetings (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    lead_id UUID NOT NULL REFERENCES leads(id),
    campaign_id UUID REFERENCES campaigns(id),
    conversation_id UUID REFERENCES conversations(id),
    status VARCHAR(20) NOT NULL DEFAULT 'booked',
    booked_at TIMESTAMP NOT NULL DEFAULT NOW(),
    scheduled_for TIMESTAMP,
    created_at TIMESTAMP NOT NULL DEFAULT NOW()
);
CREATE INDEX meetings_lead_id_idx ON meetings (lead_id);
CREATE INDEX meetings_campaign_id_idx ON meetings (campaign_id, booked_at);

CREATE TABLE deals (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    lead_id UUID NOT NULL REFERENCES leads(id),
    campaign_id UUID REFERENCES campaigns(id),
    meeting_id UUID REFERENCES meetings(id),
    status VARCHAR(20) NOT NULL DEFAULT 'open',
    amount NUMERIC(12,2) CHECK (amount >= 0),
    currency CHAR(3) NOT NULL DEFAULT 'USD',
    won_at TIMESTAMP,
    lost_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMP NOT NULL DEFAULT NOW(),
    CONSTRAINT deals_won_has_amount CHECK (status <> 'won' OR (amount IS NOT NULL AND won_at IS NOT NULL))
);
CREATE INDEX deals_lead_id_idx ON deals (lead_id);
CREATE INDEX deals_campaign_id_idx ON deals (campaign_id, won_at);

ALTER TABLE ab_tests
    ADD COLUMN campaign_id UUID REFERENCES campaigns(id),
    ADD COLUMN winning_variant VARCHAR(50),
    ADD COLUMN decided_at TIMESTAMP;
CREATE INDEX ab_tests_campaign_id_idx ON ab_tests (campaign_id);

ALTER TABLE email_sends
    ADD COLUMN ab_test_id UUID REFERENCES ab_tests(id),
    ADD COLUMN ab_variant VARCHAR(50);
CREATE INDEX email_sends_ab_test_id_idx ON email_sends (ab_test_id, ab_variant);

-- Down Migration
ALTER TABLE email_sends
    DROP COLUMN ab_variant,
    DROP COLUMN ab_test_id;
ALTER TABLE ab_tests
    DROP COLUMN decided_at,
    DROP COLUMN winning_variant,
    DROP COLUMN campaign_id;
DROP TABLE deals;
DROP TABLE meetings;
ALTER TABLE leads DROP COLUMN scraping_job_id;
DROP TABLE scraping_jobs;
