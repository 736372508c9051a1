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
      consent_timestamp: "2026-11-20T10:00:00.000Z",
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
