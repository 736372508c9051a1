/**
 * The read side's timing settings: ANALYTICS_AS_OF_TTL_MS (how long a looked-up asOf is reused) and
 * ROLLUP_FOLD_INTERVAL_MS (the pause between folds) take whole milliseconds from 0 to a minute; anything else
 * stops the start with a message that names the variable.
 */
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";

const PRIMARY = "postgres://app:pw@db-primary:5432/reachgraph";

function problem(env: Record<string, string>): string {
  try {
    loadConfig({ DATABASE_URL: PRIMARY, ...env });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("expected a ConfigError");
}

describe.each([
  ["ANALYTICS_AS_OF_TTL_MS", "analyticsAsOfTtlMs"],
  ["ROLLUP_FOLD_INTERVAL_MS", "rollupFoldIntervalMs"],
] as const)("%s", (variable, field) => {
  it("defaults to a second and takes 0 to 60000", () => {
    expect(loadConfig({ DATABASE_URL: PRIMARY })[field]).toBe(1000);
    expect(loadConfig({ DATABASE_URL: PRIMARY, [variable]: "0" })[field]).toBe(0);
    expect(loadConfig({ DATABASE_URL: PRIMARY, [variable]: "60000" })[field]).toBe(60_000);
  });

  it("refuses a negative, a fraction, more than a minute or text, naming the variable", () => {
    for (const bad of ["-1", "1.5", "60001", "soon"])
      expect(problem({ [variable]: bad })).toContain(variable);
  });
});

describe("WRITE_GROUP_MAX_REQUESTS and WRITE_GROUP_MAX_IN_FLIGHT", () => {
  it("default to 64 requests per group and 2 groups at a time; 1 request turns group commit off", () => {
    expect(loadConfig({ DATABASE_URL: PRIMARY }).writeGroups).toEqual({ maxRequests: 64, maxInFlight: 2 });
    expect(
      loadConfig({ DATABASE_URL: PRIMARY, WRITE_GROUP_MAX_REQUESTS: "1", WRITE_GROUP_MAX_IN_FLIGHT: "16" })
        .writeGroups,
    ).toEqual({ maxRequests: 1, maxInFlight: 16 });
  });

  it("refuses 0, a fraction, text and sizes past their bound, naming the variable", () => {
    for (const bad of ["0", "1.5", "1001", "many"])
      expect(problem({ WRITE_GROUP_MAX_REQUESTS: bad })).toContain("WRITE_GROUP_MAX_REQUESTS");
    for (const bad of ["0", "17", "many"])
      expect(problem({ WRITE_GROUP_MAX_IN_FLIGHT: bad })).toContain("WRITE_GROUP_MAX_IN_FLIGHT");
  });
});
