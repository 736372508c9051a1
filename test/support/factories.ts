import { randomBytes } from "node:crypto";
import { expect } from "vitest";
import type { TestApi } from "./api.js";

/** A valid lead for POST /api/v2/leads; override only what the test is about. */
export function leadInput(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const slug = randomBytes(5).toString("hex");
  return {
    company_name: `Acme ${slug}`,
    website: `https://www.acme-${slug}.example`,
    source_platform: "google_maps",
    contact_name: "Jane Doe",
    contact_email: `jane@acme-${slug}.example`,
    industry: "dentist",
    country_code: "de",
    consent_source: "public_business_listing",
    // Before every test clock (the work-queue tests count back a year per test from 1999): consent is never in the future.
    consent_timestamp: "1900-06-01T10:00:00Z",
    consent_proof_url: `https://proofs.example/${slug}`,
    ...overrides,
  };
}

/** `count` new leads through POST /api/v2/leads; returns their ids in order. */
export async function createLeads(
  api: TestApi,
  count: number,
  overrides: Record<string, unknown> = {},
): Promise<string[]> {
  const res = await api.request("POST", "/api/v2/leads", {
    body: { leads: Array.from({ length: count }, () => leadInput(overrides)) },
  });
  expect(res.status, res.text).toBe(200);
  return res.body.data.map((d: { id: string }) => d.id);
}

/** One new lead through the API; returns its id. */
export async function createLead(api: TestApi, overrides: Record<string, unknown> = {}): Promise<string> {
  const [id] = await createLeads(api, 1, overrides);
  if (!id) throw new Error("lead ingest returned no id");
  return id;
}
