import { randomBytes } from "node:crypto";

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
    consent_timestamp: "2026-11-20T10:00:00Z",
    consent_proof_url: `https://proofs.example/${slug}`,
    ...overrides,
  };
}
