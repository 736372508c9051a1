import { randomUUID } from "node:crypto";
import type pg from "pg";
import { describe, expect, it } from "vitest";
import { UnitOfWork } from "../../src/domain/unit-of-work.js";
import type { EventEnvelope } from "../../src/events/catalog.js";
import { EventSchemaError, EventValidator } from "../../src/events/schemas.js";

/**
 * The guard: every emitted event is checked against events/<type>.v<N>.schema.json before COMMIT. These cases
 * break the schema in the ways a code change would (a missing or renamed field, a wrong type, a value outside the
 * enum, a PII field added to a payload, an unknown type or version) and must each be refused.
 */
const validator = new EventValidator();

function leadScraped(
  overrides: Record<string, unknown> = {},
  payload: Record<string, unknown> = {},
): EventEnvelope {
  return {
    id: randomUUID(),
    type: "lead.scraped",
    version: 1,
    occurred_at: "2026-12-02T10:00:00.000Z",
    correlation_id: "c-1",
    payload: {
      lead_id: randomUUID(),
      scraping_job_id: null,
      source_platform: "google_maps",
      industry: null,
      country_code: "DE",
      outcome: "created",
      ...payload,
    },
    ...overrides,
  } as EventEnvelope;
}

describe("event schema validation", () => {
  it("accepts an envelope that follows its schema", () => {
    expect(() => validator.assertValid(leadScraped())).not.toThrow();
  });

  it.each([
    ["a missing payload field", {}, { lead_id: undefined }, /lead_id/],
    ["a wrong type", {}, { source_platform: 42 }, /source_platform/],
    ["a value outside the enum", {}, { outcome: "merged" }, /outcome/],
    [
      "a field the schema does not declare (PII must not leak into events)",
      {},
      { contact_email: "a@b.c" },
      /additional/,
    ],
    ["a malformed uuid", {}, { lead_id: "not-a-uuid" }, /lead_id/],
    ["a malformed timestamp", { occurred_at: "yesterday" }, {}, /occurred_at/],
    ["an empty correlation id", { correlation_id: "" }, {}, /correlation_id/],
  ])("refuses %s", (_what, envelope, payload, why) => {
    const bad = leadScraped(envelope, payload);
    if ("lead_id" in payload && payload.lead_id === undefined)
      delete (bad.payload as Record<string, unknown>).lead_id;
    expect(() => validator.assertValid(bad)).toThrow(EventSchemaError);
    expect(() => validator.assertValid(bad)).toThrow(why);
  });

  it("refuses a type or version that has no schema", () => {
    expect(() => validator.assertValid(leadScraped({ version: 2 }))).toThrow(
      /No schema for event lead.scraped v2/,
    );
    expect(() => validator.assertValid(leadScraped({ type: "lead.deleted" }))).toThrow(/No schema/);
  });

  it("UnitOfWork.emit validates before queuing the event, so a bad event never reaches the outbox", () => {
    const uow = new UnitOfWork(
      {} as pg.ClientBase,
      new Date("2026-12-02T10:00:00Z"),
      { type: "api_key", id: "k" } as never,
      "r-1",
      "c-1",
      validator,
      {} as pg.Pool,
    );
    const good = leadScraped().payload as EventEnvelope<"lead.scraped">["payload"];
    uow.emit("lead.scraped", good);
    expect(() => uow.emit("lead.scraped", { ...good, outcome: "merged" as "created" })).toThrow(
      EventSchemaError,
    );
    expect(uow.events).toHaveLength(1);
  });
});
