import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { changeLine } from "../../src/contract/changes.js";
import {
  type Baseline,
  type Contracts,
  checkContracts,
  contractPaths,
  generatedContracts,
  REPO_ROOT,
  readBaseline,
} from "../../src/contract/contracts.js";

/** contract:check end to end: stale committed files, and a baseline whose route or field the code no longer has. */
// biome-ignore lint/suspicious/noExplicitAny: the tests edit an OpenAPI document freely
type Doc = any;
const run = promisify(execFile);
const generated = generatedContracts();
const released = readBaseline(contractPaths());
const NOW = new Date("2026-12-10T00:00:00Z");

/** A baseline that had one more route and one more GraphQL field than the code has now. */
function richerBaseline(): Baseline {
  const openapi: Doc = structuredClone(generated.openapi);
  openapi.paths["/api/v2/retired-thing"] = { get: structuredClone(openapi.paths["/api/v2/leads"].get) };
  const graphql = generated.graphql.replace("type AbTest {\n", "type AbTest {\n  retiredField: String\n");
  expect(graphql).not.toBe(generated.graphql);
  return { openapi, graphql, releasedAt: released.releasedAt };
}

const breakingLines = (changes: Awaited<ReturnType<typeof checkContracts>>["changes"]) =>
  changes.filter((c) => c.level === "breaking").map(changeLine);

describe("contract:check", () => {
  it("passes on the code's own contracts against the released baseline: every change since is additive", async () => {
    const result = await checkContracts({
      baseline: released,
      committed: generated,
      generated,
      now: new Date(),
    });
    expect(breakingLines(result.changes)).toEqual([]);
    expect(result.ok).toBe(true);
  });

  it("fails when a route or a GraphQL field of the baseline is missing from the current contracts", async () => {
    const result = await checkContracts({
      baseline: richerBaseline(),
      committed: generated,
      generated,
      now: NOW,
    });
    expect(result.ok).toBe(false);
    expect(breakingLines(result.changes)).toEqual([
      "REST GET /api/v2/retired-thing: removed (it was not deprecated)",
      "GraphQL AbTest.retiredField: Field 'retiredField' was removed from object type 'AbTest' (it was not deprecated)",
    ]);
  });

  it("fails when the committed openapi.json or schema.graphql is not what the code generates", async () => {
    const baseline = { ...generated, releasedAt: released.releasedAt };
    const staleOpenapi: Contracts = {
      openapi: { ...(generated.openapi as Doc), info: { title: "old" } },
      graphql: generated.graphql,
    };
    const a = await checkContracts({ baseline, committed: staleOpenapi, generated, now: NOW });
    expect(a.ok).toBe(false);
    expect(a.stale).toEqual(["openapi.json differs from what the routes generate: run `npm run openapi`"]);
    const staleSchema: Contracts = { openapi: generated.openapi, graphql: `${generated.graphql}\n` };
    const b = await checkContracts({ baseline, committed: staleSchema, generated, now: NOW });
    expect(b.ok).toBe(false);
    expect(b.stale).toEqual(["schema.graphql differs from the Pothos schema: run `npm run graphql:schema`"]);
  });
});

describe("the contract:check command", () => {
  function baselineDir(baseline: Baseline): string {
    const dir = mkdtempSync(path.join(tmpdir(), "reachgraph-contracts-"));
    writeFileSync(path.join(dir, "openapi.released.json"), JSON.stringify(baseline.openapi));
    writeFileSync(path.join(dir, "schema.released.graphql"), baseline.graphql);
    writeFileSync(path.join(dir, "released.json"), JSON.stringify({ released_at: "2026-12-02" }));
    return dir;
  }
  const check = (dir: string) =>
    run(process.execPath, ["--import", "tsx", "src/cli/contract-check.ts", "--baseline", dir], {
      cwd: REPO_ROOT,
    }).then(
      (r) => ({ code: 0, stdout: r.stdout }),
      (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
    );

  it("exits 1 and prints the breaking change, grouped", async () => {
    const { code, stdout } = await check(baselineDir(richerBaseline()));
    expect(code).toBe(1);
    expect(stdout).toMatch(/^Breaking \(2\)$/m);
    expect(stdout).toContain("  REST GET /api/v2/retired-thing: removed (it was not deprecated)");
    expect(stdout).toMatch(/^Dangerous \(0\)\n {2}none$/m);
    expect(stdout).toContain("contract:check FAILED");
  });

  it("exits 0 when nothing changed since the baseline (and the committed files are fresh)", async () => {
    const { code, stdout } = await check(baselineDir({ ...generated, releasedAt: released.releasedAt }));
    expect(stdout).toContain("Breaking (0)");
    expect(stdout).toContain("Non-breaking (0)");
    expect(code, stdout).toBe(0);
  });
});
