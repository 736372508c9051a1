import { describe, expect, it } from "vitest";
import { primaryPool } from "./support/db.js";

/**
 * The Unified Contract's tables with their columns and defaults (§2.1–2.3), checked by inserting a row that names
 * no optional column and reading back what the database filled in.
 */
describe("contract tables and defaults", () => {
  const db = primaryPool();

  async function columnsOf(table: string): Promise<string[]> {
    const r = await db.query<{ column_name: string }>(
      "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1",
      [table],
    );
    return r.rows.map((row) => row.column_name);
  }

  const contract: Record<string, string[]> = {
    demo_sites: [
      "id",
      "lead_id",
      "analysis_id",
      "model_used",
      "deployment_url",
      "qa_report",
      "status",
      "created_at",
      "deployed_at",
      "archived_at",
    ],
    videos: [
      "id",
      "lead_id",
      "demo_site_id",
      "script",
      "video_url",
      "duration_seconds",
      "watch_stats",
      "status",
      "created_at",
    ],
    leads: ["source_platform", "consent_source", "consent_timestamp", "consent_proof_url"],
    website_analyses: ["model_breakdown", "lighthouse_report"],
    campaigns: [
      "id",
      "name",
      "source_types",
      "filters",
      "daily_limit",
      "send_window",
      "status",
      "created_at",
    ],
    email_sends: [
      "id",
      "campaign_id",
      "lead_id",
      "subject_variant",
      "body",
      "demo_url",
      "video_url",
      "model_used",
      "tracking_token",
      "sent_at",
      "opened_at",
      "clicked_at",
      "replied_at",
      "status",
    ],
    conversations: [
      "id",
      "lead_id",
      "campaign_id",
      "thread_metadata",
      "last_message_at",
      "status",
      "created_at",
    ],
    conversation_messages: [
      "id",
      "conversation_id",
      "direction",
      "from_email",
      "to_email",
      "subject",
      "body",
      "model_used",
      "sentiment",
      "gmail_message_id",
      "sent_at",
    ],
    ai_gym_performance: [
      "id",
      "task_type",
      "model_name",
      "lead_id",
      "cost",
      "duration_seconds",
      "quality_score",
      "conversion_metric",
      "metadata",
      "created_at",
    ],
    ab_tests: ["id", "name", "element_type", "variants", "split_ratio", "status", "created_at"],
    audit_log: ["principal_id", "action", "resource_type", "resource_id", "occurred_at", "request_id"],
  };

  it.each(Object.entries(contract))("%s has every contract column", async (table, columns) => {
    expect(await columnsOf(table)).toEqual(expect.arrayContaining(columns));
  });

  it("fills the contract's defaults", async () => {
    const lead = (
      await db.query<{ id: string }>("INSERT INTO leads (company_name) VALUES ('Defaults Co') RETURNING id")
    ).rows[0];
    const demo = (await db.query("INSERT INTO demo_sites (lead_id) VALUES ($1) RETURNING *", [lead?.id]))
      .rows[0];
    expect(demo.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(demo.status).toBe("building");
    expect(demo.created_at).toBeInstanceOf(Date);

    const video = (await db.query("INSERT INTO videos (lead_id) VALUES ($1) RETURNING *", [lead?.id]))
      .rows[0];
    expect(video.status).toBe("generating");

    const campaign = (await db.query("INSERT INTO campaigns (name) VALUES ('Defaults') RETURNING *")).rows[0];
    expect(campaign.daily_limit).toBe(100);
    expect(campaign.status).toBe("active");

    const send = (
      await db.query("INSERT INTO email_sends (campaign_id, lead_id) VALUES ($1, $2) RETURNING *", [
        campaign.id,
        lead?.id,
      ])
    ).rows[0];
    expect(send.status).toBe("queued");
    expect(send.sent_at).toBeNull();

    const conversation = (
      await db.query("INSERT INTO conversations (lead_id) VALUES ($1) RETURNING *", [lead?.id])
    ).rows[0];
    expect(conversation.status).toBe("active");
    const message = (
      await db.query("INSERT INTO conversation_messages (conversation_id) VALUES ($1) RETURNING *", [
        conversation.id,
      ])
    ).rows[0];
    expect(message.sent_at).toBeInstanceOf(Date);

    const abTest = (await db.query("INSERT INTO ab_tests (name) VALUES ('Defaults') RETURNING *")).rows[0];
    expect(abTest.status).toBe("active");

    const gym = (
      await db.query(
        "INSERT INTO ai_gym_performance (task_type, model_name, cost) VALUES ('email_copy', 'gpt-5', 0.12345) RETURNING *",
      )
    ).rows[0];
    expect(gym.created_at).toBeInstanceOf(Date);
    expect(gym.cost).toBe("0.1235"); // NUMERIC(10,4)
  });

  it("stores UTC in TIMESTAMP columns whatever the server's time zone", async () => {
    const r = await db.query<{ diff: number }>(
      `WITH row AS (INSERT INTO campaigns (name) VALUES ('tz') RETURNING created_at)
       SELECT abs(extract(epoch FROM (row.created_at - (now() AT TIME ZONE 'UTC'))))::float8 AS diff FROM row`,
    );
    expect(r.rows[0]?.diff).toBeLessThan(5);
  });

  it("has the §6 indexes", async () => {
    const r = await db.query<{ indexdef: string }>(
      "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'",
    );
    const defs = r.rows.map((x) => x.indexdef);
    expect(defs).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/ON ONLY public\.email_sends USING btree \(lead_id\)/),
        expect.stringMatching(/ON ONLY public\.ai_gym_performance USING btree \(task_type, model_name\)/),
        expect.stringMatching(/ON public\.conversations USING btree \(lead_id\)/),
      ]),
    );
  });

  it("keeps audit_log append-only", async () => {
    const row = (
      await db.query<{ id: string }>(
        "INSERT INTO audit_log (principal_type, principal_id, action, resource_type) VALUES ('api_key', 'k1', 'test', 'lead') RETURNING id",
      )
    ).rows[0];
    await expect(
      db.query("UPDATE audit_log SET action = 'rewritten' WHERE id = $1", [row?.id]),
    ).rejects.toThrow(/append-only/);
  });
});
