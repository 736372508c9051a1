import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { type Baseline, type Contracts, contractPaths, readBaseline } from "../../src/contract/contracts.js";
import { releaseContracts } from "../../src/contract/release.js";
import { type Doc, releasedOpenapiWithDates } from "./fixtures.js";

/** contract:release into a scratch repository: baselines copied, released.json dated, a changelog entry added. */
const released: Baseline = { ...readBaseline(contractPaths()), openapi: releasedOpenapiWithDates() };

function scratchRepo(baseline: Baseline) {
  const root = mkdtempSync(path.join(tmpdir(), "reachgraph-release-"));
  const paths = contractPaths(root, root);
  writeFileSync(paths.baselineOpenapi, `${JSON.stringify(baseline.openapi, null, 2)}\n`);
  writeFileSync(paths.baselineGraphql, baseline.graphql);
  writeFileSync(paths.released, JSON.stringify({ released_at: "2026-12-02" }));
  return paths;
}

function withNewRoute(): Contracts {
  const openapi: Doc = structuredClone(released.openapi);
  openapi.paths["/api/v2/reports"] = { get: structuredClone(openapi.paths["/api/v2/leads"].get) };
  return {
    openapi,
    graphql: released.graphql.replace("type AbTest {\n", "type AbTest {\n  archivedAt: DateTime\n"),
  };
}

describe("contract:release", () => {
  it("copies the generated contracts to the baselines and adds the day's report to CHANGELOG.md, newest first", async () => {
    const paths = scratchRepo(released);
    const first = withNewRoute();
    const now = new Date("2026-12-20T10:00:00Z");
    const result = await releaseContracts({
      paths,
      baseline: released,
      committed: first,
      generated: first,
      now,
    });
    expect(result.status).toBe("released");
    expect(JSON.parse(readFileSync(paths.baselineOpenapi, "utf8"))).toEqual(first.openapi);
    expect(readFileSync(paths.baselineGraphql, "utf8")).toBe(first.graphql);
    expect(JSON.parse(readFileSync(paths.released, "utf8"))).toEqual({ released_at: "2026-12-20" });
    const changelog = readFileSync(paths.changelog, "utf8");
    expect(changelog).toMatch(/^# Changelog\n/);
    expect(changelog).toContain("## 2026-12-20");
    expect(changelog).toContain("### Breaking (0)\n\n- none");
    expect(changelog).toContain(
      "### Non-breaking (2)\n\n- GraphQL `AbTest.archivedAt`: Field 'archivedAt' was added to object type 'AbTest'\n- REST `GET /api/v2/reports`: added\n",
    );

    // The next release compares with the new baseline and goes above the previous entry.
    const baseline = readBaseline(paths);
    expect(baseline.releasedAt.toISOString()).toBe("2026-12-20T00:00:00.000Z");
    const second: Contracts = {
      ...first,
      graphql: first.graphql.replace(
        "  archivedAt: DateTime\n",
        "  archivedAt: DateTime\n  ownerTeam: String\n",
      ),
    };
    const next = await releaseContracts({
      paths,
      baseline,
      committed: second,
      generated: second,
      now: new Date("2027-01-05T00:00:00Z"),
    });
    expect(next.status).toBe("released");
    const both = readFileSync(paths.changelog, "utf8");
    expect(both.indexOf("## 2027-01-05")).toBeLessThan(both.indexOf("## 2026-12-20"));
    expect(both.split("## 2027-01-05")[1]?.split("## 2026-12-20")[0]).toContain("AbTest.ownerTeam");
    expect(both.split("## 2027-01-05")[1]?.split("## 2026-12-20")[0]).not.toContain("/api/v2/reports");
  });

  it("refuses a breaking release and leaves every file as it was", async () => {
    const paths = scratchRepo(released);
    const openapi: Doc = structuredClone(released.openapi);
    delete openapi.paths["/api/v2/leads"];
    const broken: Contracts = { openapi, graphql: released.graphql };
    const before = readFileSync(paths.baselineOpenapi, "utf8");
    const result = await releaseContracts({
      paths,
      baseline: released,
      committed: broken,
      generated: broken,
      now: new Date(),
    });
    expect(result.status).toBe("refused");
    if (result.status === "refused")
      expect(result.reasons).toEqual(["the contracts break the previous release (see Breaking)"]);
    expect(readFileSync(paths.baselineOpenapi, "utf8")).toBe(before);
    expect(existsSync(paths.changelog)).toBe(false);
  });

  it("refuses while the committed files are stale", async () => {
    const paths = scratchRepo(released);
    const generated = withNewRoute();
    const result = await releaseContracts({
      paths,
      baseline: released,
      committed: released,
      generated,
      now: new Date(),
    });
    expect(result.status).toBe("refused");
    if (result.status === "refused") expect(result.reasons.length).toBe(2);
    expect(existsSync(paths.changelog)).toBe(false);
  });

  it("has nothing to release when the contracts equal the baseline", async () => {
    const paths = scratchRepo(released);
    const result = await releaseContracts({
      paths,
      baseline: released,
      committed: released,
      generated: released,
      now: new Date(),
    });
    expect(result.status).toBe("unchanged");
    expect(existsSync(paths.changelog)).toBe(false);
  });
});
