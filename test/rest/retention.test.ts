import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { expectDocumented, startApi } from "../support/api.js";
import { createLead } from "../support/factories.js";

// The admin levers on retention (README "Retention policy"); what a run does with them is test/compliance/retention.
const api = await startApi();
const q = async (sql: string, params: unknown[] = []) => (await api.db.primary.query(sql, params)).rows;

async function insertAssets(leadId: string): Promise<{ demo: string; video: string }> {
  const [demo] = await q(
    `INSERT INTO demo_sites (lead_id, deployment_url, status, deployed_at) VALUES ($1, 'https://demos.example/x', 'deployed', now())
     RETURNING id`,
    [leadId],
  );
  const [video] = await q(
    "INSERT INTO videos (lead_id, demo_site_id, video_url, status) VALUES ($1, $2, 'https://videos.example/x', 'ready') RETURNING id",
    [leadId, demo?.id],
  );
  return { demo: demo?.id, video: video?.id };
}

const auditOf = (resourceId: string) =>
  q(
    "SELECT action, resource_type, principal_type, details FROM audit_log WHERE resource_id = $1 ORDER BY id",
    [resourceId],
  );

describe("PUT /api/v2/demos/{id}/case-study and /api/v2/videos/{id}/case-study", () => {
  it("flags and unflags a demo site and a video, audited", async () => {
    const leadId = await createLead(api);
    const { demo, video } = await insertAssets(leadId);
    for (const [path, id, kind, resource] of [
      ["/api/v2/demos/{id}/case-study", demo, "demo_site", "demo_site"],
      ["/api/v2/videos/{id}/case-study", video, "video", "video"],
    ] as const) {
      const on = await api.request("PUT", path.replace("{id}", id), { body: { is_case_study: true } });
      expect(on.status, on.text).toBe(200);
      expectDocumented(on, "PUT", path);
      expect(on.body).toMatchObject({ id, kind, lead_id: leadId, is_case_study: true, archived_at: null });
      const off = await api.request("PUT", path.replace("{id}", id), { body: { is_case_study: false } });
      expect(off.status, off.text).toBe(200);
      expect(off.body.is_case_study).toBe(false);
      const [row] = await q(
        `SELECT is_case_study FROM ${kind === "video" ? "videos" : "demo_sites"} WHERE id = $1`,
        [id],
      );
      expect(row?.is_case_study).toBe(false);
      expect(await auditOf(id)).toEqual([
        {
          action: `${resource}.case_study_set`,
          resource_type: resource,
          principal_type: "api_key",
          details: { is_case_study: true, previous: false },
        },
        {
          action: `${resource}.case_study_cleared`,
          resource_type: resource,
          principal_type: "api_key",
          details: { is_case_study: false, previous: true },
        },
      ]);
    }
  });

  it("404 for an unknown asset and for one of an erased lead; 422 without a boolean", async () => {
    const unknown = await api.request("PUT", `/api/v2/demos/${randomUUID()}/case-study`, {
      body: { is_case_study: true },
    });
    expect(unknown.status).toBe(404);
    expectDocumented(unknown, "PUT", "/api/v2/demos/{id}/case-study");

    const leadId = await createLead(api);
    const { video } = await insertAssets(leadId);
    const erased = await api.request("DELETE", `/api/v2/leads/${leadId}`);
    expect(erased.status, erased.text).toBe(200);
    const gone = await api.request("PUT", `/api/v2/videos/${video}/case-study`, {
      body: { is_case_study: true },
    });
    expect(gone.status, gone.text).toBe(404);

    const bad = await api.request("PUT", `/api/v2/videos/${video}/case-study`, {
      body: { is_case_study: "yes" },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.errors[0].path).toBe("/is_case_study");
  });
});

describe("PUT /api/v2/leads/{id}/retention", () => {
  it("sets (and replaces) the extension, audited, without touching the lead's own activity time", async () => {
    const leadId = await createLead(api);
    const [before] = await q("SELECT updated_at FROM leads WHERE id = $1", [leadId]);
    const until = new Date(Date.now() + 90 * 86_400_000);
    const res = await api.request("PUT", `/api/v2/leads/${leadId}/retention`, {
      body: { extended_until: until.toISOString() },
    });
    expect(res.status, res.text).toBe(200);
    expectDocumented(res, "PUT", "/api/v2/leads/{id}/retention");
    expect(res.body).toEqual({ id: leadId, retention_extended_until: until.toISOString() });
    const sooner = new Date(Date.now() + 30 * 86_400_000);
    const again = await api.request("PUT", `/api/v2/leads/${leadId}/retention`, {
      body: { extended_until: sooner.toISOString() },
    });
    expect(again.body.retention_extended_until).toBe(sooner.toISOString());
    const [after] = await q("SELECT retention_extended_until, updated_at FROM leads WHERE id = $1", [leadId]);
    expect(after?.retention_extended_until).toEqual(sooner);
    expect(after?.updated_at).toEqual(before?.updated_at);
    const audit = await auditOf(leadId);
    expect(audit.filter((a) => a.action === "lead.retention_extended").map((a) => a.details)).toEqual([
      { extended_until: until.toISOString(), previous: null },
      { extended_until: sooner.toISOString(), previous: until.toISOString() },
    ]);
  });

  it("refuses a past date (422) and answers 404 for a missing or erased lead; nothing is written", async () => {
    const leadId = await createLead(api);
    const past = await api.request("PUT", `/api/v2/leads/${leadId}/retention`, {
      body: { extended_until: new Date(Date.now() - 60_000).toISOString() },
    });
    expect(past.status).toBe(422);
    expectDocumented(past, "PUT", "/api/v2/leads/{id}/retention");
    expect(past.body.errors).toEqual([
      expect.objectContaining({
        location: "body",
        path: "/extended_until",
        message: "must be in the future",
      }),
    ]);
    const [row] = await q("SELECT retention_extended_until FROM leads WHERE id = $1", [leadId]);
    expect(row?.retention_extended_until).toBeNull();

    const future = { extended_until: new Date(Date.now() + 86_400_000).toISOString() };
    const missing = await api.request("PUT", `/api/v2/leads/${randomUUID()}/retention`, { body: future });
    expect(missing.status).toBe(404);
    expect((await api.request("DELETE", `/api/v2/leads/${leadId}`)).status).toBe(200);
    const erased = await api.request("PUT", `/api/v2/leads/${leadId}/retention`, { body: future });
    expect(erased.status).toBe(404);
  });
});
