import { randomBytes, randomUUID } from "node:crypto";
import type pg from "pg";

/**
 * Rows the engagement tests (conversations, A/B tests, scraping jobs) stand on, written straight into the database so
 * a test does not depend on other endpoints. Each takes Partial overrides and returns the row's id.
 */

export async function insertLead(db: pg.Pool, overrides: { company_name?: string } = {}): Promise<string> {
  const slug = randomBytes(6).toString("hex");
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO leads (company_name, website, domain, source_platform, contact_email)
     VALUES ($1, $2, $3, 'google_maps', $4) RETURNING id`,
    [
      overrides.company_name ?? `Engage ${slug}`,
      `https://engage-${slug}.example`,
      `engage-${slug}.example`,
      `owner@engage-${slug}.example`,
    ],
  );
  return (rows[0] as { id: string }).id;
}

export async function insertCampaign(db: pg.Pool, overrides: { name?: string } = {}): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO campaigns (name, status) VALUES ($1, 'active') RETURNING id`,
    [overrides.name ?? `Campaign ${randomBytes(4).toString("hex")}`],
  );
  return (rows[0] as { id: string }).id;
}

export type EmailSendOverrides = {
  lead_id: string;
  campaign_id?: string | null;
  sent_at?: Date | null;
  status?: string;
  ab_test_id?: string | null;
  ab_variant?: string | null;
  opened_at?: Date | null;
  clicked_at?: Date | null;
  replied_at?: Date | null;
  created_at?: Date;
};

/** An email send, by default already sent an hour ago. */
export async function insertEmailSend(db: pg.Pool, o: EmailSendOverrides): Promise<string> {
  const sentAt = o.sent_at === undefined ? new Date(Date.now() - 3_600_000) : o.sent_at;
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO email_sends (id, campaign_id, lead_id, subject_variant, body, tracking_token, sent_at, status,
                              ab_test_id, ab_variant, opened_at, clicked_at, replied_at, created_at)
     VALUES ($1, $2, $3, 'Hello', 'Body', $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
    [
      randomUUID(),
      o.campaign_id ?? null,
      o.lead_id,
      randomUUID(),
      sentAt?.toISOString() ?? null,
      o.status ?? (sentAt ? "sent" : "queued"),
      o.ab_test_id ?? null,
      o.ab_variant ?? null,
      o.opened_at?.toISOString() ?? null,
      o.clicked_at?.toISOString() ?? null,
      o.replied_at?.toISOString() ?? null,
      (o.created_at ?? sentAt ?? new Date()).toISOString(),
    ],
  );
  return (rows[0] as { id: string }).id;
}

/** The outbox rows a request wrote, by the X-Correlation-Id it was sent with. */
export async function eventsFor(
  db: pg.Pool,
  correlationId: string,
): Promise<{ type: string; payload: Record<string, unknown> }[]> {
  const { rows } = await db.query<{ type: string; payload: Record<string, unknown> }>(
    `SELECT type, payload FROM event_outbox WHERE correlation_id = $1 ORDER BY position`,
    [correlationId],
  );
  return rows;
}

/** A fresh correlation id header, so a test can find exactly the events its request emitted. */
export function correlated(): { id: string; headers: Record<string, string> } {
  const id = `test-${randomUUID()}`;
  return { id, headers: { "X-Correlation-Id": id } };
}

/** Number of rows of `table` matching a parameterised WHERE clause. */
export async function countRows(
  db: pg.Pool,
  table: string,
  where: string,
  params: unknown[],
): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ${table} WHERE ${where}`,
    params,
  );
  return (rows[0] as { n: number }).n;
}
