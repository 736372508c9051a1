import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { expectDocumented, startApi } from "../support/api.js";
import { createLeads } from "../support/factories.js";
import { createCampaign, emailInput } from "../support/factories-outreach.js";

const api = await startApi({ now: new Date("2030-03-04T09:00:00Z") });

async function send(campaignId: string, emails: Record<string, unknown>[]) {
  const res = await api.request("POST", "/api/v2/email/send", { body: { campaign_id: campaignId, emails } });
  expectDocumented(res, "POST", "/api/v2/email/send");
  return res;
}

async function demoAndVideo(leadId: string): Promise<{ demo: string; video: string }> {
  const { rows } = await api.db.primary.query<{ demo: string; video: string }>(
    `WITH d AS (INSERT INTO demo_sites (lead_id, deployment_url, status) VALUES ($1::uuid, 'https://demo.test/' || $1::text, 'deployed')
                RETURNING id)
     INSERT INTO videos (lead_id, demo_site_id, video_url, status) SELECT $1::uuid, d.id, 'https://video.test/' || $1::text, 'ready' FROM d
     RETURNING demo_site_id AS demo, id AS video`,
    [leadId],
  );
  const row = rows[0];
  if (!row) throw new Error("no demo/video");
  return row;
}

describe("POST /api/v2/email/send: sequence steps and the demo/video an email carries", () => {
  it("defaults the step to the lead's next one in the campaign and honours an explicit step", async () => {
    const c = await createCampaign(api, { status: "paused" });
    const [a, b] = await createLeads(api, 2);
    if (!a || !b) throw new Error("no leads");
    const first = await send(c.id, [emailInput(a), emailInput(a), emailInput(b)]);
    expect(first.status, first.text).toBe(202);
    expect(first.body.data.map((e: { sequence_step: number }) => e.sequence_step)).toEqual([1, 2, 1]);
    const later = await send(c.id, [emailInput(a), emailInput(b, { sequence_step: 5 })]);
    expect(later.body.data.map((e: { sequence_step: number }) => e.sequence_step)).toEqual([3, 5]);
    // Another campaign starts the lead at step 1 again.
    const other = await createCampaign(api, { status: "paused" });
    expect((await send(other.id, [emailInput(a)])).body.data[0].sequence_step).toBe(1);
    const { rows } = await api.db.primary.query(
      `SELECT sequence_step FROM email_sends WHERE campaign_id = $1 AND lead_id = $2 ORDER BY sequence_step`,
      [c.id, a],
    );
    expect(rows.map((r) => r.sequence_step)).toEqual([1, 2, 3]);
  });

  it("links the demo and video by id and takes their URLs when the email omits them", async () => {
    const c = await createCampaign(api, { status: "paused" });
    const [a] = await createLeads(api, 1);
    if (!a) throw new Error("no lead");
    const { demo, video } = await demoAndVideo(a);
    const res = await send(c.id, [
      emailInput(a, { demo_url: undefined, video_url: undefined, demo_site_id: demo, video_id: video }),
    ]);
    expect(res.status, res.text).toBe(202);
    expect(res.body.data[0]).toMatchObject({ demo_site_id: demo, video_id: video });
    const { rows } = await api.db.primary.query(
      `SELECT demo_site_id, video_id, demo_url, video_url FROM email_sends WHERE id = $1`,
      [res.body.data[0].email_send_id],
    );
    expect(rows[0]).toEqual({
      demo_site_id: demo,
      video_id: video,
      demo_url: `https://demo.test/${a}`,
      video_url: `https://video.test/${a}`,
    });
  });

  it("refuses another lead's demo or video with 422 naming the field and writes nothing", async () => {
    const c = await createCampaign(api, { status: "paused" });
    const [a, b] = await createLeads(api, 2);
    if (!a || !b) throw new Error("no leads");
    const theirs = await demoAndVideo(b);
    const res = await send(c.id, [
      emailInput(a),
      emailInput(a, { demo_site_id: theirs.demo, video_id: randomUUID() }),
    ]);
    expect(res.status, res.text).toBe(422);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual([
      "/emails/1/demo_site_id",
      "/emails/1/video_id",
    ]);
    const { rowCount } = await api.db.primary.query(`SELECT 1 FROM email_sends WHERE campaign_id = $1`, [
      c.id,
    ]);
    expect(rowCount).toBe(0);
  });
});
