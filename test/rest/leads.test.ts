import { describe, expect, it } from "vitest";
import { expectDocumented, startApi } from "../support/api.js";
import { leadInput } from "../support/factories.js";

const api = await startApi();

describe("POST /api/v2/leads", () => {
  it("creates leads, then updates them by (domain, source_platform), keeping stored values the batch omits", async () => {
    const lead = leadInput();
    const first = await api.request("POST", "/api/v2/leads", { body: { leads: [lead] } });
    expect(first.status).toBe(200);
    expectDocumented(first, "POST", "/api/v2/leads");
    expect(first.body.meta).toEqual({ created: 1, updated: 0 });
    const [created] = first.body.data;
    expect(created.domain).toBe(String(lead.website).replace("https://www.", ""));

    const again = await api.request("POST", "/api/v2/leads", {
      body: { leads: [{ ...lead, contact_email: undefined, company_name: "Acme Renamed" }] },
    });
    expect(again.body.data[0]).toMatchObject({ id: created.id, outcome: "updated" });
    const got = await api.request("GET", `/api/v2/leads/${created.id}`);
    expectDocumented(got, "GET", "/api/v2/leads/{id}");
    expect(got.body).toMatchObject({
      company_name: "Acme Renamed",
      contact_email: lead.contact_email,
      country_code: "DE",
      consent_timestamp: "1900-06-01T10:00:00.000Z",
    });
  });

  it("refuses a lead without website or domain and writes nothing", async () => {
    const lead = leadInput({ website: undefined, company_name: "Nowhere Inc" });
    const res = await api.request("POST", "/api/v2/leads", { body: { leads: [leadInput(), lead] } });
    expect(res.status).toBe(422);
    expectDocumented(res, "POST", "/api/v2/leads");
    expect(res.body.errors).toContainEqual({
      location: "body",
      path: "/leads/1/website",
      message: "needs a website or a domain",
    });
    const { rowCount } = await api.db.primary.query("SELECT 1 FROM leads WHERE company_name = 'Nowhere Inc'");
    expect(rowCount).toBe(0);
  });
});

describe("values PostgreSQL cannot store are the client's mistake, not a 500", () => {
  it.each([
    ["a NUL byte in a string", { company_name: "Acme\u0000Dental" }, "validation-failed"],
    ["year 0", { consent_timestamp: "0000-01-01T00:00:00Z" }, "validation-failed"],
    ["year 10000 after the offset", { consent_timestamp: "9999-12-31T23:30:00-01:00" }, "validation-failed"],
  ])("%s → 422", async (_name, override, type) => {
    const lead = leadInput(override);
    const res = await api.request("POST", "/api/v2/leads", { body: { leads: [lead] } });
    expect(res.status).toBe(422);
    expect(res.body.type).toBe(`https://reachgraph.dev/problems/${type}`);
    const { rowCount } = await api.db.primary.query("SELECT 1 FROM leads WHERE domain = $1", [
      new URL(String(lead.website)).hostname.replace(/^www\./, ""),
    ]);
    expect(rowCount).toBe(0);
  });

  it("a forged cursor with an impossible date → 422", async () => {
    const cursor = Buffer.from(JSON.stringify(["0000-01-01T00:00:00.000Z", crypto.randomUUID()])).toString(
      "base64url",
    );
    const res = await api.request("GET", `/api/v2/leads?cursor=${cursor}`);
    expect(res.status).toBe(422);
  });

  it("an unknown scraping job is a 422 naming the field", async () => {
    const res = await api.request("POST", "/api/v2/leads", {
      body: { scraping_job_id: crypto.randomUUID(), leads: [leadInput()] },
    });
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([
      { location: "body", path: "/scraping_job_id", message: expect.stringMatching(/^no scraping job/) },
    ]);
  });

  it("a malformed path encoding or a corrupt gzip body is a 400, not a 500", async () => {
    const path = await api.request("GET", "/api/v2/leads/%E0%A4%A");
    expect(path.status).toBe(400);
    const gzip = await api.request("POST", "/api/v2/leads", {
      raw: "not gzip at all",
      headers: { "content-encoding": "gzip" },
    });
    expect(gzip.status).toBe(400);
    expect(gzip.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  });
});

describe("overlapping batches", () => {
  it("upsert the same leads in any order concurrently without deadlocking", async () => {
    const leads = Array.from({ length: 200 }, () => leadInput());
    const reversed = [...leads].reverse();
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        api.request("POST", "/api/v2/leads", { body: { leads: i % 2 ? reversed : leads } }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
  });
});
