-- Up Migration
-- Unified Contract §2.3 and the §6 index on ai_gym_performance.
--
-- ai_gym_performance is range-partitioned by month on created_at (§6). The partition key must be NOT NULL, so
-- created_at is NOT NULL here (the contract leaves it nullable with DEFAULT NOW(), which every insert already fills),
-- and the primary key is (id, created_at).

CREATE TABLE ai_gym_performance (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    task_type VARCHAR(50),
    model_name VARCHAR(50),
    lead_id UUID REFERENCES leads(id),
    cost NUMERIC(10,4),
    duration_seconds INTEGER,
    quality_score INTEGER,
    conversion_metric NUMERIC(10,4),
    metadata JSONB,
    created_at TIMESTAMP NOT NULL DEFAULT NOW(),
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
CREATE TABLE ai_gym_performance_default PARTITION OF ai_gym_performance DEFAULT;
CREATE INDEX ai_gym_performance_task_type_model_name_idx ON ai_gym_performance (task_type, model_name);
CREATE INDEX ai_gym_performance_lead_id_idx ON ai_gym_performance (lead_id);

CREATE TABLE ab_tests (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name VARCHAR(255),
    element_type VARCHAR(50),
    variants JSONB,
    split_ratio JSONB,
    status VARCHAR(20) DEFAULT 'active',
    created_at TIMESTAMP DEFAULT NOW()
);

-- Down Migration
DROP TABLE ab_tests;
DROP TABLE ai_gym_performance;
