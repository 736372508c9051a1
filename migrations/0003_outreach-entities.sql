-- Up Migration
-- Unified Contract §2.2 and the §6 indexes on these tables.
--
-- email_sends is range-partitioned by month (§6). PostgreSQL requires the partition key to be NOT NULL and part of
-- every unique constraint, and sent_at is NULL while an email is queued, so the table gains created_at (when the send
-- was queued) as its partition key, and its primary key is (id, created_at). id stays a random UUID, unique in practice.
-- Monthly partitions are created ahead of time by reachgraph_ensure_partitions() (migration 0006); rows outside every
-- monthly partition land in email_sends_default, and the function moves them out when their month is created.

CREATE TABLE campaigns (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name VARCHAR(255),
    source_types VARCHAR[],
    filters JSONB,
    daily_limit INTEGER DEFAULT 100,
    send_window JSONB,
    status VARCHAR(20) DEFAULT 'active',
    created_at TIMESTAMP DEFAULT NOW()
);

CREATE TABLE email_sends (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    campaign_id UUID REFERENCES campaigns(id),
    lead_id UUID REFERENCES leads(id),
    subject_variant TEXT,
    body TEXT,
    demo_url TEXT,
    video_url TEXT,
    model_used VARCHAR(50),
    tracking_token UUID,
    sent_at TIMESTAMP,
    opened_at TIMESTAMP,
    clicked_at TIMESTAMP,
    replied_at TIMESTAMP,
    status VARCHAR(20) DEFAULT 'queued',
    created_at TIMESTAMP NOT NULL DEFAULT NOW(),
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
CREATE TABLE email_sends_default PARTITION OF email_sends DEFAULT;
CREATE INDEX email_sends_lead_id_idx ON email_sends (lead_id);
CREATE INDEX email_sends_campaign_id_idx ON email_sends (campaign_id, created_at);
CREATE INDEX email_sends_tracking_token_idx ON email_sends (tracking_token);

CREATE TABLE conversations (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    lead_id UUID REFERENCES leads(id),
    campaign_id UUID REFERENCES campaigns(id),
    thread_metadata JSONB,
    last_message_at TIMESTAMP,
    status VARCHAR(20) DEFAULT 'active',
    created_at TIMESTAMP DEFAULT NOW()
);
CREATE INDEX conversations_lead_id_idx ON conversations (lead_id);
CREATE INDEX conversations_campaign_id_idx ON conversations (campaign_id);

CREATE TABLE conversation_messages (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    conversation_id UUID REFERENCES conversations(id),
    direction VARCHAR(10),
    from_email VARCHAR(255),
    to_email VARCHAR(255),
    subject TEXT,
    body TEXT,
    model_used VARCHAR(50),
    sentiment VARCHAR(20),
    gmail_message_id VARCHAR(255),
    sent_at TIMESTAMP DEFAULT NOW()
);
CREATE INDEX conversation_messages_conversation_id_idx ON conversation_messages (conversation_id, sent_at);

-- Down Migration
DROP TABLE conversation_messages;
DROP TABLE conversations;
DROP TABLE email_sends;
DROP TABLE campaigns;
