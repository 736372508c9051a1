/**
 * DATABASE_REPLICA_URLS: a list of replicas, each entry validated and named by its position when it is bad (never
 * quoted: it may carry a password); DATABASE_REPLICA_URL stays a one-element list; both set must agree.
 */
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";

const PRIMARY = "postgres://app:pw@db-primary:5432/reachgraph";
const R1 = "postgres://app:pw@db-replica-1:5432/reachgraph";
const R2 = "postgresql://app:pw@db-replica-2:5433/reachgraph";

function replicas(env: Record<string, string>): string[] {
  return loadConfig({ DATABASE_URL: PRIMARY, ...env }).database.replicaUrls;
}

function problem(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("expected a ConfigError");
}

describe("DATABASE_REPLICA_URLS", () => {
  it("lists the replicas in order, spaces around commas ignored", () => {
    expect(replicas({ DATABASE_REPLICA_URLS: ` ${R1} , ${R2}` })).toEqual([R1, R2]);
  });

  it("no replica variable: no replicas", () => {
    expect(replicas({})).toEqual([]);
    expect(replicas({ DATABASE_REPLICA_URLS: "" })).toEqual([]);
  });

  it("names a bad entry by its position and never quotes it", () => {
    const message = problem({
      DATABASE_URL: PRIMARY,
      DATABASE_REPLICA_URLS: `${R1},mysql://app:topsecret@db/x`,
    });
    expect(message).toMatch(/DATABASE_REPLICA_URLS entry 2: must be a postgres:\/\/ or postgresql:\/\/ URL/);
    expect(message).not.toContain("topsecret");
    expect(message).not.toMatch(/entry 1/);
  });

  it("refuses a stray comma and a repeated entry", () => {
    expect(problem({ DATABASE_URL: PRIMARY, DATABASE_REPLICA_URLS: `${R1},,${R2}` })).toMatch(
      /entry 2: is empty/,
    );
    expect(problem({ DATABASE_URL: PRIMARY, DATABASE_REPLICA_URLS: `${R1},${R2},${R1}` })).toMatch(
      /entry 3: repeats an earlier entry/,
    );
  });

  it("needs DATABASE_URL", () => {
    expect(problem({ DATABASE_REPLICA_URLS: R1 })).toMatch(
      /DATABASE_REPLICA_URLS is set but DATABASE_URL is not/,
    );
  });
});

describe("DATABASE_REPLICA_URL (the one-replica form)", () => {
  it("alone, is a one-element list", () => {
    expect(replicas({ DATABASE_REPLICA_URL: R1 })).toEqual([R1]);
  });

  it("with DATABASE_REPLICA_URLS, must be one of them; the list is used", () => {
    expect(replicas({ DATABASE_REPLICA_URL: R2, DATABASE_REPLICA_URLS: `${R1},${R2}` })).toEqual([R1, R2]);
    const message = problem({
      DATABASE_URL: PRIMARY,
      DATABASE_REPLICA_URL: "postgres://app:pw@elsewhere:5432/reachgraph",
      DATABASE_REPLICA_URLS: R1,
    });
    expect(message).toMatch(/DATABASE_REPLICA_URL: is set and is not one of DATABASE_REPLICA_URLS/);
  });

  it("is still validated", () => {
    expect(problem({ DATABASE_URL: PRIMARY, DATABASE_REPLICA_URL: "not a url" })).toMatch(
      /DATABASE_REPLICA_URL: must be a postgres/,
    );
  });
});

describe("EMBEDDED_REPLICAS", () => {
  it("defaults to 1 and takes 0 to 4", () => {
    expect(loadConfig({}).embedded.replicas).toBe(1);
    expect(loadConfig({ EMBEDDED_REPLICAS: "0" }).embedded.replicas).toBe(0);
    expect(loadConfig({ EMBEDDED_REPLICAS: "4" }).embedded.replicas).toBe(4);
  });

  it("refuses more than 4, negatives and fractions", () => {
    for (const value of ["5", "-1", "1.5", "two"]) {
      expect(problem({ EMBEDDED_REPLICAS: value })).toMatch(/EMBEDDED_REPLICAS/);
    }
  });
});
