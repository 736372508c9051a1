-- Up Migration
-- Unified Contract §2.1, verbatim: demo sites, videos and the columns added to leads and website_analyses.

CREATE TABLE demo_sites (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    lead_id UUID REFERENCES leads(id),
    analysis_id UUID REFERENCES website_analyses(id),
    model_used VARCHAR(50),
    deployment_url TEXT,
    qa_report JSONB,
    status VARCHAR(20) DEFAULT 'building',
    created_at TIMESTAMP DEFAULT NOW(),
    deployed_at TIMESTAMP,
    archived_at TIMESTAMP
);
CREATE INDEX demo_sites_lead_id_idx ON demo_sites (lead_id);

CREATE TABLE videos (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    lead_id UUID REFERENCES leads(id),
    demo_site_id UUID REFERENCES demo_sites(id),
    script JSONB,
    video_url TEXT,
    duration_seconds INTEGER,
    watch_stats JSONB,
    status VARCHAR(20) DEFAULT 'generating',
    created_at TIMESTAMP DEFAULT NOW()
);
CREATE INDEX videos_lead_id_idx ON videos (lead_id);

ALTER TABLE leads
    ADD COLUMN source_platform VARCHAR(50),
    ADD COLUMN consent_source VARCHAR(255),
    ADD COLUMN consent_timestamp TIMESTAMP;

ALTER TABLE website_analyses
    ADD COLUMN model_breakdown JSONB,
    ADD COLUMN lighthouse_report JSONB;

-- Down Migration
ALTER TABLE website_analyses
    DROP COLUMN lighthouse_report,
    DROP COLUMN model_breakdown;
ALTER TABLE leads
    DROP COLUMN consent_timestamp,
    DROP COLUMN consent_source,
    DROP COLUMN source_platform;
DROP TABLE videos;
DROP TABLE demo_sites;
