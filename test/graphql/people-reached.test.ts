import { describe, expect, it } from "vitest";
import { waitForReplica } from "../../src/db/replication.js";
import { startApi } from "../support/api.js";
import { createLead, leadInput } from "../support/factories.js";
import { insertCampaign } from "../support/factories-engagement.js";

const api = await startApi();
const q = async (sql: string, params: unknown[] = []) => (await api.db.primary.query(sql, params)).rows;

async function send(campaignId: string, leadId: string, status: string, sentAt: string | null) {
  await q(
    `INSERT INTO email_sends (campaign_id, lead_id, subject_variant, body, status, sent_at)
     VALUES ($1, $2, 'Hello', 'Body', $3, $4)`,
    [campaignId, leadId, status, sentAt],
  );
}

async function recipients(campaignId: string): Promise<number> {
  if (api.db.replica) await waitForReplica(api.db.primary, api.db.replica);
  const res = await api.graphql("query($id: ID!) { campaign(id: $id) { peopleReached } }", {
    id: campaignId,
  });
  expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
  return res.body.data.campaign.peopleReached;
}

describe("Campaign.peopleReached: distinct people by keyed email token", () => {
  it("counts a person once across emails and leads, only when delivered, and keeps them after erasure", async () => {
    const campaign = await insertCampaign(api.db.primary);
    const shared = leadInput().contact_email as string;
    // Two leads (two businesses, two sources) with one contact address: one person.
    const a = await createLead(api, { contact_email: shared });
    const b = await createLead(api, { contact_email: ` ${shared.toUpperCase()} `.trim() });
    const c = await createLead(api);
    const queuedOnly = await createLead(api);
    const bounced = await createLead(api);
    await send(campaign, a, "sent", "2026-03-01 10:00:00");
    await send(campaign, a, "sent", "2026-03-05 10:00:00");
    await send(campaign, b, "sent", "2026-03-02 10:00:00");
    await send(campaign, queuedOnly, "queued", null);
    await send(campaign, bounced, "bounced", "2026-03-02 11:00:00");
    expect(await recipients(campaign)).toBe(1);

    // Reported delivered later (the sender's report path updates the row).
    await send(campaign, c, "sending", null);
    await q("UPDATE email_sends SET status = 'sent', sent_at = '2026-03-06 09:00:00' WHERE lead_id = $1", [
      c,
    ]);
    expect(await recipients(campaign)).toBe(2);
    // Opens and clicks change nothing.
    await q("UPDATE email_sends SET opened_at = sent_at WHERE lead_id = $1", [c]);
    expect(await recipients(campaign)).toBe(2);

    const rows = await q(
      "SELECT email_token, first_delivered_at::text AS first FROM campaign_recipients WHERE campaign_id = $1 ORDER BY first",
      [campaign],
    );
    expect(rows.map((r) => r.first)).toEqual(["2026-03-01 10:00:00", "2026-03-06 09:00:00"]);
    expect(JSON.stringify(rows)).not.toContain("@");

    // Erasure keeps the person counted (the tombstone keeps the token).
    expect((await api.request("DELETE", `/api/v2/leads/${c}`)).status).toBe(200);
    expect(await recipients(campaign)).toBe(2);
  });
});
