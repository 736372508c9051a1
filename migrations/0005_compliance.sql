-- Up Migration
-- Homes for the Unified Contract's compliance and retention rules (§5, §8).
--
-- audit_log (§5): who did what to which resource, when, under which request. Append-only: a trigger refuses UPDATE
-- so history cannot be rewritten; DELETE stays possible for the retention purge. It never stores PII: resource ids
-- and opaque principal ids only.
-- leads.consent_proof_url (§5 "store consent_source and proof link").
-- leads.retention_extended_until (§8 "18 months, extendable if active").
-- demo_sites/videos.is_case_study and videos.archived_at (§8 "6 months, then archived unless flagged as case study").
-- ai_gym_performance.prompt_hash/response_hash (§8 "AI prompts/responses hashes: 12 months for audit"): SHA-256 hex.

CREATE TABLE audit_log (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at TIMESTAMP NOT NULL DEFAULT NOW(),
    principal_type VARCHAR(20) NOT NULL,
    principal_id VARCHAR(255) NOT NULL,
    action VARCHAR(100) NOT NULL,
    resource_type VARCHAR(50) NOT NULL,
    resource_id VARCHAR(255),
    request_id VARCHAR(100),
    details JSONB
);
CREATE INDEX audit_log_resource_idx ON audit_log (resource_type, resource_id);
CREATE INDEX audit_log_occurred_at_idx ON audit_log (occurred_at);
CREATE INDEX audit_log_principal_idx ON audit_log (principal_type, principal_id);

CREATE FUNCTION reachgraph_audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION reachgraph_audit_log_is_append_only();

ALTER TABLE leads
    ADD COLUMN consent_proof_url TEXT,
    ADD COLUMN retention_extended_until TIMESTAMP;

ALTER TABLE demo_sites
    ADD COLUMN is_case_study BOOLEAN NOT NULL DEFAULT false;

ALTER TABLE videos
    ADD COLUMN is_case_study BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN archived_at TIMESTAMP;

ALTER TABLE ai_gym_performance
    ADD COLUMN prompt_hash CHAR(64),
    ADD COLUMN response_hash CHAR(64);

-- Down Migration
ALTER TABLE ai_gym_performance
    DROP COLUMN response_hash,
    DROP COLUMN prompt_hash;
ALTER TABLE videos
    DROP COLUMN archived_at,
    DROP COLUMN is_case_study;
ALTER TABLE demo_sites
    DROP COLUMN is_case_study;
ALTER TABLE leads
    DROP COLUMN retention_extended_until,
    DROP COLUMN consent_proof_url;
DROP TABLE audit_log;
DROP FUNCTION reachgraph_audit_log_is_append_only();
