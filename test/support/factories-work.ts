import { randomBytes } from "node:crypto";

/** The spec §3.3 sample body of POST /api/v2/demos. */
export function sampleDemoBody(leadId: string, analysisId: string): Record<string, unknown> {
  return {
    lead_id: leadId,
    analysis_id: analysisId,
    preferences: { framework: "react", fallback: "mockup" },
  };
}

/** What a worker reports about its model call. */
export function aiGymMetrics(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model_name: `test-model-${randomBytes(4).toString("hex")}`,
    cost: 0.0825,
    duration_seconds: 95,
    quality_score: 88,
    prompt_hash: "a".repeat(64),
    response_hash: "b".repeat(64),
    metadata: { temperature: 0.2 },
    ...overrides,
  };
}

/** A valid POST /api/v2/ai-gym/records item. */
export function aiGymRecord(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { task_type: "email_copy", ...aiGymMetrics(), ...overrides };
}

/**
 * Test clocks, one per test, each a year before the last. Claims take items that are due at the request clock,
 * so a test running at its own (earlier) time never sees work that another test or file queued later.
 */
export function epochs(startYear: number): () => Date {
  let year = startYear;
  return () => new Date(Date.UTC(year--, 0, 1, 12, 0, 0));
}

export function plusSeconds(d: Date, seconds: number): Date {
  return new Date(d.getTime() + seconds * 1000);
}
