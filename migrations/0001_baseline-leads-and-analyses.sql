-- Up Migration
-- Baseline for the two tables the Unified Contract extends (§2.1 ALTER TABLE) but never defines.
-- Columns are what a lead-gen pipeline really stores; the contract's own additions follow in 0002.
-- Timestamps are TIMESTAMP WITHOUT TIME ZONE, as in the contract, and always hold UTC: every connection the app
-- opens sets TimeZone=UTC so DEFAULT NOW() writes UTC.

CREATE TABLE leads (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    company_name VARCHAR(255) NOT NULL,
    website TEXT,
    domain VARCHAR(255),
    contact_name VARCHAR(255),
    contact_title VARCHAR(120),
    contact_email VARCHAR(255),
    contact_phone VARCHAR(50),
    industry VARCHAR(100),
    city VARCHAR(100),
    region VARCHAR(100),
    country_code CHAR(2),
    employee_count INTEGER CHECK (employee_count >= 0),
    status VARCHAR(20) NOT NULL DEFAULT 'new',
    created_at TIMESTAMP NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMP NOT NULL DEFAULT NOW()
);
CREATE INDEX leads_domain_idx ON leads (domain);
CREATE INDEX leads_status_idx ON leads (status);
CREATE INDEX leads_created_at_idx ON leads (created_at);

CREATE TABLE website_analyses (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    lead_id UUID NOT NULL REFERENCES leads(id),
    status VARCHAR(20) NOT NULL DEFAULT 'queued',
    overall_score INTEGER CHECK (overall_score BETWEEN 0 AND 100),
    performance_score INTEGER CHECK (performance_score BETWEEN 0 AND 100),
    seo_score INTEGER CHECK (seo_score BETWEEN 0 AND 100),
    accessibility_score INTEGER CHECK (accessibility_score BETWEEN 0 AND 100),
    design_score INTEGER CHECK (design_score BETWEEN 0 AND 100),
    findings JSONB,
    model_used VARCHAR(50),
    created_at TIMESTAMP NOT NULL DEFAULT NOW(),
    completed_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL DEFAULT NOW()
);
CREATE INDEX website_analyses_lead_id_idx ON website_analyses (lead_id);

-- Down Migration
DROP TABLE website_analyses;
DROP TABLE leads;
