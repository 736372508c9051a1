import { randomBytes } from "node:crypto";
import { expect } from "vitest";
import type { TestApi } from "./api.js";

/** A valid body for POST /api/v2/campaigns; override only what the test is about. */
export function campaignInput(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: `Dentists ${randomBytes(4).toString("hex")}`,
    source_types: ["google_maps"],
    filters: { industry: ["dentist"], country: ["DE"] },
    daily_limit: 100,
    send_window: {
      timezone: "Europe/Berlin",
      days: ["mon", "tue", "wed", "thu", "fri"],
      start_hour: 9,
      end_hour: 17,
    },
    status: "active",
    ...overrides,
  };
}

// biome-ignore lint/suspicious/noExplicitAny: response bodies are loose in tests
export async function createCampaign(api: TestApi, overrides: Record<string, unknown> = {}): Promise<any> {
  const res = await api.request("POST", "/api/v2/campaigns", { body: campaignInput(overrides) });
  expect(res.status, res.text).toBe(201);
  return res.body;
}

/** One email of a POST /api/v2/email/send body. */
export function emailInput(leadId: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const slug = randomBytes(3).toString("hex");
  return {
    lead_id: leadId,
    subject: "Quick question about your website",
    body: "Hi, I rebuilt your homepage — have a look.",
    demo_url: `https://demos.example/${slug}`,
    video_url: `https://videos.example/${slug}.mp4`,
    model_used: "claude-sonnet",
    links: [`https://reachgraph.example/pricing?ref=${slug}`],
    ...overrides,
  };
}

/** Queues one email per lead; returns the 202 body's data. */
export async function queueEmails(
  api: TestApi,
  campaignId: string,
  leadIds: string[],
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are loose in tests
): Promise<any[]> {
  const res = await api.request("POST", "/api/v2/email/send", {
    body: { campaign_id: campaignId, emails: leadIds.map((id) => emailInput(id)) },
  });
  expect(res.status, res.text).toBe(202);
  return res.body.data;
}
