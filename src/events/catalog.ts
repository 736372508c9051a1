/**
 * The payload of every event type, as TypeScript sees it. The JSON Schemas under events/ are the contract; a test
 * checks that this map and those files name the same events, and every emitted event is validated against its schema.
 */
import type { ReplyCategory } from "../domain/conversations.js";

type Uuid = string;
type IsoTimestamp = string;

/** The evidence an `abtest.decided` carries (src/domain/ab-evaluation.ts decisionStatistics). */
export type AbDecisionStatistics = {
  method: "msprt";
  metric: "reply_rate" | "positive_reply_rate" | "meeting_rate";
  alpha: number;
  min_sample_per_variant: number;
  mixing_variance: number;
  control: string;
  looks: number;
  comparisons: {
    variant: string;
    samples: number;
    successes: number;
    control_samples: number;
    control_successes: number;
    effect: number | null;
    p_value: number;
    e_value: number;
    interval_low: number | null;
    interval_high: number | null;
    holm_threshold: number;
    significant: boolean;
  }[];
};

export type EventPayloads = {
  "lead.scraped": {
    lead_id: Uuid;
    scraping_job_id: Uuid | null;
    source_platform: string;
    industry: string | null;
    country_code: string | null;
    outcome: "created" | "updated";
  };
  "analysis.completed": {
    analysis_id: Uuid;
    lead_id: Uuid;
    overall_score: number | null;
    performance_score: number | null;
    seo_score: number | null;
    accessibility_score: number | null;
    design_score: number | null;
    model_used: string | null;
  };
  "demo.deployed": {
    demo_id: Uuid;
    lead_id: Uuid;
    analysis_id: Uuid | null;
    /** null once the lead was erased. */
    deployment_url: string | null;
    model_used: string | null;
  };
  "video.ready": {
    video_id: Uuid;
    lead_id: Uuid;
    demo_site_id: Uuid | null;
    /** null once the lead was erased. */
    video_url: string | null;
    duration_seconds: number | null;
  };
  "email.sent": {
    email_send_id: Uuid;
    campaign_id: Uuid | null;
    lead_id: Uuid | null;
    ab_test_id: Uuid | null;
    ab_variant: string | null;
    sent_at: IsoTimestamp;
  };
  "reply.received": {
    conversation_id: Uuid;
    message_id: Uuid;
    lead_id: Uuid | null;
    campaign_id: Uuid | null;
    email_send_id: Uuid | null;
    sentiment: string | null;
    /** Optional in v1: events written before the reply taxonomy (migration 0021) lack them. */
    reply_category?: ReplyCategory;
    reply_category_model?: string | null;
    reply_category_confidence?: number | null;
  };
  "abtest.decided": {
    ab_test_id: Uuid;
    campaign_id: Uuid | null;
    winning_variant: string;
    decided_at: IsoTimestamp;
    /** Added in place (optional, additive): who decided. */
    decided_by?: "manual" | "sequential_test";
    /** Added in place (optional, additive): the sequential test's last look; null for a manual decision without one. */
    statistics?: AbDecisionStatistics | null;
  };
  "meeting.booked": {
    meeting_id: Uuid;
    lead_id: Uuid;
    campaign_id: Uuid | null;
    conversation_id: Uuid | null;
    scheduled_for: IsoTimestamp | null;
  };
  "lead.erased": {
    lead_id: Uuid;
    erased_at: IsoTimestamp;
  };
  "asset.archived": AssetArchivedPayload;
  /**
   * A bulk load of AI-GYM records committed (`POST /api/v2/ai-gym/records:bulk`, the seeder): one event per load,
   * not per row. `created_from`/`created_to` bound the rows' `created_at` (null when no row was accepted).
   */
  "ai_gym.bulk_loaded": {
    load_id: Uuid;
    accepted: number;
    rejected: number;
    created_from: IsoTimestamp | null;
    created_to: IsoTimestamp | null;
  };
  "deal.won": {
    deal_id: Uuid;
    lead_id: Uuid;
    campaign_id: Uuid | null;
    /** Decimal string, e.g. "1250.00": amounts never pass through a float. */
    amount: string;
    currency: string;
    won_at: IsoTimestamp;
  };
};

/** A demo site or video archived by retention (spec §8): its file goes to cold storage. No URL, ids only. */
export type AssetArchivedPayload = {
  asset_kind: "demo_site" | "video";
  asset_id: Uuid;
  lead_id: Uuid | null;
  archived_at: IsoTimestamp;
};

export type EventType = keyof EventPayloads;
export const EVENT_TYPES = [
  "lead.scraped",
  "analysis.completed",
  "demo.deployed",
  "video.ready",
  "email.sent",
  "reply.received",
  "abtest.decided",
  "meeting.booked",
  "deal.won",
  "lead.erased",
  "asset.archived",
  "ai_gym.bulk_loaded",
] as const satisfies readonly EventType[];
export const EVENT_VERSION = 1;

export type EventEnvelope<T extends EventType = EventType> = {
  id: Uuid;
  type: T;
  version: number;
  occurred_at: IsoTimestamp;
  correlation_id: string;
  payload: EventPayloads[T];
};
