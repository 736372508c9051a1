import type pg from "pg";
import { ConflictError, InvalidTransitionError, NotFoundError } from "./errors.js";
import {
  isWindowOpen,
  localClock,
  localDayBounds,
  nextWindowOpening,
  SendWindow,
  WEEKDAYS,
} from "./send-window.js";
import type { UnitOfWork } from "./unit-of-work.js";

/**
 * `completed` exists in older data (a campaign that ran its course); the API never sets it. `archived` is final.
 */
export const CAMPAIGN_STATUSES = ["draft", "active", "paused", "completed", "archived"] as const;
export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number];

/** Every status change a PATCH may make. Setting the current status again is a no-op, except on archived. */
const TRANSITIONS: Record<CampaignStatus, readonly CampaignStatus[]> = {
  draft: ["active", "archived"],
  active: ["paused", "archived"],
  paused: ["active", "archived"],
  completed: ["archived"],
  archived: [],
};

/** Campaigns without a stored daily limit get the column's default. */
const DEFAULT_DAILY_LIMIT = 100;
/** A campaign stored without a (valid) send window may send at any hour, counting days in UTC. */
const ALWAYS_OPEN: SendWindow = { timezone: "UTC", days: [...WEEKDAYS], start_hour: 0, end_hour: 24 };

export type CampaignRow = {
  id: string;
  name: string | null;
  source_types: string[] | null;
  filters: Record<string, unknown> | null;
  daily_limit: number | null;
  send_window: unknown;
  status: string | null;
  created_at: Date | null;
};

const CAMPAIGN_COLUMNS = "id, name, source_types, filters, daily_limit, send_window, status, created_at";

export type CampaignInput = {
  name: string;
  source_types: string[];
  filters: Record<string, unknown>;
  daily_limit: number;
  send_window: SendWindow;
  status: "draft" | "active" | "paused";
};

export type CampaignPatch = Partial<Omit<CampaignInput, "status">> & {
  status?: "draft" | "active" | "paused" | "archived" | undefined;
};

export function effectiveWindow(c: Pick<CampaignRow, "send_window">): SendWindow {
  const parsed = SendWindow.safeParse(c.send_window);
  return parsed.success ? parsed.data : ALWAYS_OPEN;
}

export function effectiveDailyLimit(c: Pick<CampaignRow, "daily_limit">): number {
  return c.daily_limit ?? DEFAULT_DAILY_LIMIT;
}

export async function createCampaign(uow: UnitOfWork, input: CampaignInput): Promise<CampaignRow> {
  const { rows } = await uow.tx.query<CampaignRow>(
    `INSERT INTO campaigns (name, source_types, filters, daily_limit, send_window, status, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     RETURNING ${CAMPAIGN_COLUMNS}`,
    [
      input.name,
      input.source_types,
      JSON.stringify(input.filters),
      input.daily_limit,
      JSON.stringify(input.send_window),
      input.status,
      uow.now.toISOString(),
    ],
  );
  const row = rows[0];
  if (!row) throw new Error("INSERT … RETURNING returned no row");
  uow.audit({
    action: "campaign.created",
    resourceType: "campaign",
    resourceId: row.id,
    details: { status: input.status },
  });
  return row;
}

export async function getCampaign(db: pg.Pool | pg.ClientBase, id: string): Promise<CampaignRow> {
  const { rows } = await db.query<CampaignRow>(`SELECT ${CAMPAIGN_COLUMNS} FROM campaigns WHERE id = $1`, [
    id,
  ]);
  const row = rows[0];
  if (!row) throw new NotFoundError("Campaign", id);
  return row;
}

/**
 * Row lock for a change of the campaign. FOR NO KEY UPDATE serialises writers of the campaign (and claims, which
 * take the same lock) but lets concurrent inserts that reference it (their FK check takes FOR KEY SHARE) go ahead;
 * a delete needs FOR UPDATE, which makes those inserts wait.
 */
async function lockCampaign(
  uow: UnitOfWork,
  id: string,
  mode: "FOR NO KEY UPDATE" | "FOR UPDATE" = "FOR NO KEY UPDATE",
): Promise<CampaignRow> {
  const { rows } = await uow.tx.query<CampaignRow>(
    `SELECT ${CAMPAIGN_COLUMNS} FROM campaigns WHERE id = $1 ${mode}`,
    [id],
  );
  const row = rows[0];
  if (!row) throw new NotFoundError("Campaign", id);
  return row;
}

export async function listCampaigns(
  db: pg.Pool,
  q: { limit: number; after: { at: Date; id: string } | null; status?: string | undefined },
): Promise<CampaignRow[]> {
  const { rows } = await db.query<CampaignRow>(
    `SELECT ${CAMPAIGN_COLUMNS} FROM campaigns
      WHERE ($1::timestamp IS NULL OR (COALESCE(created_at, 'epoch'), id) > ($1::timestamp, $2::uuid))
        AND ($3::text IS NULL OR status = $3)
      -- created_at is nullable in the contract's table: a row without one sorts (and pages) as the epoch.
      ORDER BY COALESCE(created_at, 'epoch'), id
      LIMIT $4`,
    [q.after?.at.toISOString() ?? null, q.after?.id ?? null, q.status ?? null, q.limit + 1],
  );
  return rows;
}

export async function updateCampaign(
  uow: UnitOfWork,
  id: string,
  patch: CampaignPatch,
): Promise<CampaignRow> {
  const current = await lockCampaign(uow, id);
  const from = (current.status ?? "active") as CampaignStatus;
  if (from === "archived") {
    throw new ConflictError(`Campaign ${id} is archived; archived campaigns cannot be changed.`, {
      from,
    });
  }
  const to = patch.status;
  if (to !== undefined && to !== from && !TRANSITIONS[from].includes(to)) {
    throw new InvalidTransitionError(
      "Campaign",
      from,
      to,
      `Allowed from '${from}': ${TRANSITIONS[from].join(", ") || "none"}.`,
    );
  }
  const { rows } = await uow.tx.query<CampaignRow>(
    `UPDATE campaigns SET
        name = COALESCE($2, name),
        source_types = COALESCE($3, source_types),
        filters = COALESCE($4::jsonb, filters),
        daily_limit = COALESCE($5, daily_limit),
        send_window = COALESCE($6::jsonb, send_window),
        status = COALESCE($7, status)
      WHERE id = $1
      RETURNING ${CAMPAIGN_COLUMNS}`,
    [
      id,
      patch.name ?? null,
      patch.source_types ?? null,
      patch.filters ? JSON.stringify(patch.filters) : null,
      patch.daily_limit ?? null,
      patch.send_window ? JSON.stringify(patch.send_window) : null,
      to ?? null,
    ],
  );
  const row = rows[0];
  if (!row) throw new NotFoundError("Campaign", id);
  const changed = Object.keys(patch).filter((k) => patch[k as keyof CampaignPatch] !== undefined);
  uow.audit({
    action: to !== undefined && to !== from ? `campaign.${to}` : "campaign.updated",
    resourceType: "campaign",
    resourceId: id,
    details: { changed, ...(to !== undefined && to !== from ? { from_status: from, to_status: to } : {}) },
  });
  return row;
}

export type DeleteOutcome = { id: string; outcome: "deleted" | "archived" };

/**
 * Hard-deletes a campaign nothing refers to; a campaign with history (sends, conversations, tests, meetings, deals)
 * is archived instead so that history keeps its campaign. The lock is taken in its own statement, before the check:
 * inserts that reference the campaign then wait for us, and the check (a new statement, so a new snapshot) sees
 * every reference committed before the lock.
 */
export async function deleteCampaign(uow: UnitOfWork, id: string): Promise<DeleteOutcome> {
  await lockCampaign(uow, id, "FOR UPDATE");
  const { rows } = await uow.tx.query<{ referenced: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM email_sends WHERE campaign_id = $1)
         OR EXISTS (SELECT 1 FROM conversations WHERE campaign_id = $1)
         OR EXISTS (SELECT 1 FROM ab_tests WHERE campaign_id = $1)
         OR EXISTS (SELECT 1 FROM meetings WHERE campaign_id = $1)
         OR EXISTS (SELECT 1 FROM deals WHERE campaign_id = $1) AS referenced`,
    [id],
  );
  if (rows[0]?.referenced) {
    await uow.tx.query(`UPDATE campaigns SET status = 'archived' WHERE id = $1`, [id]);
    uow.audit({
      action: "campaign.archived",
      resourceType: "campaign",
      resourceId: id,
      details: { via: "delete" },
    });
    return { id, outcome: "archived" };
  }
  await uow.tx.query(`DELETE FROM campaigns WHERE id = $1`, [id]);
  uow.audit({ action: "campaign.deleted", resourceType: "campaign", resourceId: id });
  return { id, outcome: "deleted" };
}

// ---- pacing: what counts against the daily limit, and why a campaign is (not) sending ----

/**
 * Claimable sends: queued ones, and claimed ones whose lease ran out without a report (the sender died; they go
 * back to the queue).
 */
export function claimableSql(nowParam: string, alias = ""): string {
  const c = alias ? `${alias}.` : "";
  return `(${c}status = 'queued' OR (${c}status = 'sending' AND ${c}lease_expires_at <= ${nowParam}::timestamp))`;
}

/**
 * Emails claimed in the campaign's current local day. A claim consumes the day's quota as soon as it is made, and
 * keeps consuming it if it ends sent or bounced, or if its lease expired without a report (it may have gone out:
 * counting it keeps the limit safe, and it is retried on a later day). Only a send the sender reported `failed`
 * (it never left) gives its slot back. A re-claimed send is one row with a new claimed_at, so it never counts twice.
 */
export async function countClaimedToday(
  db: pg.Pool | pg.ClientBase,
  campaigns: { id: string; window: SendWindow }[],
  now: Date,
): Promise<Map<string, number>> {
  if (campaigns.length === 0) return new Map();
  const bounds = campaigns.map((c) => localDayBounds(c.window, now));
  const { rows } = await db.query<{ campaign_id: string; claimed: number }>(
    `SELECT d.campaign_id,
            (SELECT count(*) FROM email_sends e
              WHERE e.campaign_id = d.campaign_id
                AND e.claimed_at >= d.day_start AND e.claimed_at < d.day_end
                AND e.status IN ('sending', 'sent', 'bounced'))::int AS claimed
       FROM unnest($1::uuid[], $2::timestamp[], $3::timestamp[]) AS d(campaign_id, day_start, day_end)`,
    [
      campaigns.map((c) => c.id),
      bounds.map((b) => b.start.toISOString()),
      bounds.map((b) => b.end.toISOString()),
    ],
  );
  return new Map(rows.map((r) => [r.campaign_id, r.claimed]));
}

export type SendingState =
  | "sending"
  | "outside_window"
  | "daily_limit_reached"
  | "paused"
  | "archived"
  | "draft"
  | "completed"
  | "nothing_queued";

export type SendingStatus = {
  campaign_id: string;
  state: SendingState;
  reason: string;
  /** Claimable emails that will be sent (those to unsubscribed leads are `unsubscribed`). */
  queued: number;
  unsubscribed: number;
  claimed_today: number;
  daily_limit: number;
  remaining_today: number;
  local_time: string;
  window: SendWindow;
  window_open: boolean;
  next_window_opens_at: Date | null;
};

/** Why a campaign is, or is not, handing emails to senders right now (by the request clock). */
export async function getSendingStatus(db: pg.Pool, id: string, now: Date): Promise<SendingStatus> {
  const campaign = await getCampaign(db, id);
  const window = effectiveWindow(campaign);
  const dailyLimit = effectiveDailyLimit(campaign);
  const { rows } = await db.query<{ queued: number; unsubscribed: number }>(
    `SELECT count(*)::int AS queued, count(*) FILTER (WHERE l.unsubscribed_at IS NOT NULL)::int AS unsubscribed
       FROM email_sends e LEFT JOIN leads l ON l.id = e.lead_id
      WHERE e.campaign_id = $1 AND ${claimableSql("$2", "e")}`,
    [id, now.toISOString()],
  );
  const queued = rows[0]?.queued ?? 0;
  const unsubscribed = rows[0]?.unsubscribed ?? 0;
  const held =
    unsubscribed === 0
      ? ""
      : ` ${unsubscribed} queued emails are to leads who unsubscribed: they will not be sent (the next claim fails them).`;
  const claimedToday = (await countClaimedToday(db, [{ id, window }], now)).get(id) ?? 0;
  const remaining = Math.max(0, dailyLimit - claimedToday);
  const open = isWindowOpen(window, now);
  const local = localClock(window.timezone, now);
  const status = (campaign.status ?? "active") as CampaignStatus;
  const limitMet = remaining === 0;

  const windowText = `${window.days.join(", ")} ${window.start_hour}:00–${window.end_hour}:00 ${window.timezone}`;
  let state: SendingState;
  let reason: string;
  if (status !== "active") {
    state = status;
    reason = {
      draft: "The campaign is a draft; activate it to start sending.",
      paused: "The campaign is paused; resume it (status active) to send again.",
      completed: "The campaign has completed; it sends nothing more.",
      archived: "The campaign is archived; it sends nothing more.",
    }[status];
  } else if (queued === unsubscribed) {
    state = "nothing_queued";
    reason = `No emails are queued for this campaign.${held}`;
  } else if (!open) {
    state = "outside_window";
    reason = `It is ${local.text} in ${window.timezone}, outside the send window (${windowText}).${held}`;
  } else if (limitMet) {
    state = "daily_limit_reached";
    reason = `The daily limit of ${dailyLimit} emails for ${local.text.slice(0, 10)} (${window.timezone}) has been claimed.${held}`;
  } else {
    state = "sending";
    reason = `Inside the send window with ${remaining} of ${dailyLimit} emails left today; senders can claim ${Math.min(remaining, queued - unsubscribed)} now.${held}`;
  }
  const waiting = state === "outside_window" || state === "daily_limit_reached";
  return {
    campaign_id: id,
    state,
    reason,
    queued: queued - unsubscribed,
    unsubscribed,
    claimed_today: claimedToday,
    daily_limit: dailyLimit,
    remaining_today: remaining,
    local_time: local.text,
    window,
    window_open: open,
    next_window_opens_at: waiting ? nextWindowOpening(window, now, { afterToday: limitMet }) : null,
  };
}
