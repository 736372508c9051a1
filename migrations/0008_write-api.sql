-- Up Migration
-- What the REST v2 write side needs beyond the contract's tables (issue 3):
-- - api_keys: integrations authenticate with a key; only its SHA-256 is stored (keys are 256-bit random, so a fast
--   hash is enough — there is nothing to brute-force). `prefix` is the non-secret head shown in listings.
-- - idempotency_keys: Stripe-style Idempotency-Key. The first response is stored and replayed; rows expire after
--   24 h (expires_at) and are purged by the maintenance timer.
-- - event_outbox: the transactional outbox of §4 events. Rows are written in the same transaction as the change.
--   `txid` (the writing transaction's 64-bit id) lets the feed hide rows of transactions that are still open, so a
--   consumer paging by (txid, position) never skips an event that commits late.
-- - work_items: the queue behind POST /analysis, /demos, /videos. One row per requested piece of work, id = the id of
--   the analysis/demo/video it produces. Workers claim with FOR UPDATE SKIP LOCKED and hold a lease.
-- - email_sends: sender claims (claimed_at/lease), attempts and last error, and the links a tracked click may
--   redirect to. conversations.email_send_id: the send a thread answers (no FK: email_sends' key includes created_at).
-- - leads: the natural key of ingest is (domain, source_platform).
-- Locks: every statement is a CREATE or an ALTER that adds nullable/defaulted columns (catalog-only on PG ≥ 11),
-- except the unique index on leads, which scans leads once under a SHARE lock; on a large table build it
-- CONCURRENTLY by hand first (same name) and this migration's IF NOT EXISTS skips it.
CREATE TABLE api_keys (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name VARCHAR(100) NOT NULL,
    prefix VARCHAR(20) NOT NULL UNIQUE,
    key_hash CHAR(64) NOT NULL UNIQUE,
    scopes VARCHAR(30)[] NOT NULL,
    rate_limit_per_minute INTEGER CHECK (rate_limit_per_minute > 0),
    created_at TIMESTAMP NOT NULL DEFAULT NOW(),
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);

CREATE TABLE idempotency_keys (
    api_key_id UUID NOT NULL REFERENCES api_keys(id),
    idempotency_key VARCHAR(255) NOT NULL,
    request_method VARCHAR(10) NOT NULL,
    request_path TEXT NOT NULL,
    request_hash CHAR(64) NOT NULL,
    status VARCHAR(20) NOT NULL DEFAULT 'in_flight' CHECK (status IN ('in_flight', 'completed')),
    response_status INTEGER,
    response_headers JSONB,
    response_body BYTEA,
    created_at TIMESTAMP NOT NULL DEFAULT NOW(),
    expires_at TIMESTAMP NOT NULL,
    PRIMARY KEY (api_key_id, idempotency_key)
);
CREATE INDEX idempotency_keys_expires_at_idx ON idempotency_keys (expires_at);

CREATE TABLE event_outbox (
    position BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    txid BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    id UUID NOT NULL UNIQUE,
    type VARCHAR(100) NOT NULL,
    version INTEGER NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    correlation_id VARCHAR(100) NOT NULL,
    payload JSONB NOT NULL
);
CREATE INDEX event_outbox_feed_idx ON event_outbox (txid, position);
CREATE INDEX event_outbox_type_feed_idx ON event_outbox (type, txid, position);
CREATE INDEX event_outbox_occurred_at_idx ON event_outbox (occurred_at);

CREATE TABLE work_items (
    id UUID PRIMARY KEY,
    kind VARCHAR(20) NOT NULL CHECK (kind IN ('analysis', 'demo', 'video')),
    lead_id UUID NOT NULL REFERENCES leads(id),
    status VARCHAR(20) NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    payload JSONB NOT NULL DEFAULT '{}'::jsonb,
    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts INTEGER NOT NULL DEFAULT 3 CHECK (max_attempts > 0),
    lease_owner VARCHAR(100),
    lease_expires_at TIMESTAMP,
    last_error TEXT,
    available_at TIMESTAMP NOT NULL DEFAULT NOW(),
    correlation_id VARCHAR(100),
    created_at TIMESTAMP NOT NULL DEFAULT NOW(),
    started_at TIMESTAMP,
    finished_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL DEFAULT NOW()
);
CREATE INDEX work_items_queued_idx ON work_items (kind, available_at) WHERE status = 'queued';
CREATE INDEX work_items_leased_idx ON work_items (kind, lease_expires_at) WHERE status = 'running';
CREATE INDEX work_items_lead_id_idx ON work_items (lead_id, kind);

ALTER TABLE email_sends
    ADD COLUMN claimed_at TIMESTAMP,
    ADD COLUMN lease_owner VARCHAR(100),
    ADD COLUMN lease_expires_at TIMESTAMP,
    ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN last_error TEXT,
    ADD COLUMN tracked_links JSONB;
CREATE INDEX email_sends_queued_idx ON email_sends (campaign_id, created_at) WHERE status = 'queued';
CREATE INDEX email_sends_claimed_at_idx ON email_sends (campaign_id, claimed_at) WHERE claimed_at IS NOT NULL;

ALTER TABLE conversations ADD COLUMN email_send_id UUID;

CREATE UNIQUE INDEX IF NOT EXISTS leads_domain_source_platform_key ON leads (domain, source_platform);

-- Down Migration
DROP INDEX leads_domain_source_platform_key;
ALTER TABLE conversations DROP COLUMN email_send_id;
DROP INDEX email_sends_claimed_at_idx;
DROP INDEX email_sends_queued_idx;
ALTER TABLE email_sends
    DROP COLUMN tracked_links,
    DROP COLUMN last_error,
    DROP COLUMN attempts,
    DROP COLUMN lease_expires_at,
    DROP COLUMN lease_owner,
    DROP COLUMN claimed_at;
DROP TABLE work_items;
DROP TABLE event_outbox;
DROP TABLE idempotency_keys;
DROP TABLE api_keys;
