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
