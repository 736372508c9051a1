/**
 * The data retention policy (spec §8), in one place: how long each class of data is kept, and what happens to it
 * then. The README's "Retention policy" table says the same; the months can be overridden by configuration
 * (RETENTION_*_MONTHS, src/config.ts). src/compliance/retention.ts applies it.
 */
export type RetentionClass = "leads" | "email_logs" | "ai_hashes" | "assets";

export type RetentionPolicy = Record<RetentionClass, { months: number }>;

/** What expires, counted from when, and what happens to it (the README's table). */
export const RETENTION_CLASSES: Record<
  RetentionClass,
  { data: string; defaultMonths: number; env: string; clock: string; action: string }
> = {
  leads: {
    data: "leads and their analyses",
    defaultMonths: 18,
    env: "RETENTION_LEAD_MONTHS",
    clock:
      "the lead's last activity: its own created/updated time, any email to it (queued, sent, opened, clicked, replied), any message in its threads, any meeting or deal; or `retention_extended_until` when later",
    action: "erased as by `DELETE /api/v2/leads/{id}` (tombstone; metrics kept), without suppression",
  },
  email_logs: {
    data: "email and conversation logs",
    defaultMonths: 24,
    env: "RETENTION_EMAIL_LOG_MONTHS",
    clock: "email_sends.created_at (whole monthly partitions); conversation_messages.sent_at",
    action:
      "email_sends partitions that end before the cutoff are dropped; messages lose from_email, to_email, subject and body (direction, sentiment and sent_at stay for the reply metrics)",
  },
  ai_hashes: {
    data: "AI prompt/response hashes",
    defaultMonths: 12,
    env: "RETENTION_AI_HASH_MONTHS",
    clock: "ai_gym_performance.created_at",
    action: "prompt_hash and response_hash set to NULL (the AI-GYM row and its metrics stay)",
  },
  assets: {
    data: "demo sites and videos",
    defaultMonths: 6,
    env: "RETENTION_ASSET_MONTHS",
    clock: "a demo's deployed_at (created_at if unset); a video's created_at",
    action:
      "archived (`archived_at`, status `archived`) and an `asset.archived` event emitted for the storage owner to move the file to cold storage — unless flagged `is_case_study`",
  },
};

export const DEFAULT_RETENTION_POLICY: RetentionPolicy = {
  leads: { months: RETENTION_CLASSES.leads.defaultMonths },
  email_logs: { months: RETENTION_CLASSES.email_logs.defaultMonths },
  ai_hashes: { months: RETENTION_CLASSES.ai_hashes.defaultMonths },
  assets: { months: RETENTION_CLASSES.assets.defaultMonths },
};

/**
 * `months` calendar months before `at`, as PostgreSQL's `timestamp - interval 'N months'` counts them: the same day
 * of the month and time of day, or the month's last day when it has fewer days (31 Aug − 6 months = 28/29 Feb).
 */
export function monthsBefore(at: Date, months: number): Date {
  const y = at.getUTCFullYear();
  const m = at.getUTCMonth() - months;
  const lastDay = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  return new Date(
    Date.UTC(
      y,
      m,
      Math.min(at.getUTCDate(), lastDay),
      at.getUTCHours(),
      at.getUTCMinutes(),
      at.getUTCSeconds(),
      at.getUTCMilliseconds(),
    ),
  );
}

/** Data older than these instants is due: per class, `months` before `now`. */
export type RetentionCutoffs = Record<RetentionClass, Date>;

export function retentionCutoffs(now: Date, policy: RetentionPolicy): RetentionCutoffs {
  return {
    leads: monthsBefore(now, policy.leads.months),
    email_logs: monthsBefore(now, policy.email_logs.months),
    ai_hashes: monthsBefore(now, policy.ai_hashes.months),
    assets: monthsBefore(now, policy.assets.months),
  };
}
