import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type ContractChange, changeLine } from "../../src/contract/changes.js";
import { diffGraphql } from "../../src/contract/graphql-diff.js";

/** The GraphQL rules on copies of the released schema, edited as a careless commit would. */
const BASELINE = readFileSync(new URL("../../contracts/schema.released.graphql", import.meta.url), "utf8");
const RELEASED = new Date("2026-12-02T00:00:00Z");
const NOW = new Date("2026-12-10T12:00:00Z");

/** `sdl` with `from` replaced by `to`; fails when `from` is not in it, so a test cannot silently edit nothing. */
function edit(sdl: string, from: string, to: string): string {
  if (!sdl.includes(from)) throw new Error(`not in the schema: ${from}`);
  return sdl.replace(from, to);
}

async function diffOf(current: string, options: { base?: string; now?: Date } = {}) {
  return diffGraphql(options.base ?? BASELINE, current, {
    now: options.now ?? NOW,
    baselineReleasedAt: RELEASED,
  });
}

const lines = (changes: ContractChange[], level: ContractChange["level"]) =>
  changes
    .filter((c) => c.level === level)
    .map(changeLine)
    .sort();

const WINNING = "  winningVariant: String\n";
const deprecatedWinning = (reason: string) =>
  edit(BASELINE, WINNING, `  winningVariant: String @deprecated(reason: ${JSON.stringify(reason)})\n`);
const withoutWinning = edit(BASELINE, WINNING, "");

describe("the released schema against itself", () => {
  it("has no changes", async () => {
    expect(await diffOf(BASELINE)).toEqual([]);
  });
});

describe("breaking changes fail", () => {
  it("a removed field", async () => {
    expect(lines(await diffOf(withoutWinning), "breaking")).toEqual([
      "GraphQL AbTest.winningVariant: Field 'winningVariant' was removed from object type 'AbTest' (it was not deprecated)",
    ]);
  });

  it("a removed type (with the field that returned it)", async () => {
    let sdl = edit(BASELINE, "  significance: SignificanceTest\n", "");
    sdl = sdl.replace(/(?:"""[^"]*"""\n)?type SignificanceTest \{[^}]*\}\n\n/, "");
    expect(sdl).not.toContain("type SignificanceTest");
    const breaking = lines(await diffOf(sdl), "breaking");
    expect(breaking).toContain("GraphQL SignificanceTest: Type 'SignificanceTest' was removed");
    expect(
      breaking.some((l) =>
        l.startsWith("GraphQL AbVariantResult.significance: Field 'significance' was removed"),
      ),
    ).toBe(true);
  });

  it("a removed enum value", async () => {
    const sdl = edit(
      BASELINE,
      "enum Granularity {\n  DAY\n  MONTH\n  WEEK\n}",
      "enum Granularity {\n  DAY\n  MONTH\n}",
    );
    expect(lines(await diffOf(sdl), "breaking")).toEqual([
      "GraphQL Granularity.WEEK: Enum value 'WEEK' was removed from enum 'Granularity' (it was not deprecated)",
    ]);
  });

  it("a removed argument", async () => {
    const sdl = edit(BASELINE, "    minSamples: Int = 30\n", "");
    expect(lines(await diffOf(sdl), "breaking")).toEqual([
      "GraphQL Query.modelLeaderboard.minSamples: Argument 'minSamples: Int' was removed from field 'Query.modelLeaderboard' (it was not deprecated)",
    ]);
  });

  it("a new required argument and a new required input field", async () => {
    let sdl = edit(
      BASELINE,
      "abTests(status: [String!]): [AbTest!]!",
      "abTests(status: [String!], tenant: ID!): [AbTest!]!",
    );
    sdl = edit(sdl, "input CampaignFilter {\n", "input CampaignFilter {\n  owner: String!\n");
    expect(lines(await diffOf(sdl), "breaking")).toEqual([
      "GraphQL CampaignFilter.owner: Input field 'owner' of type 'String!' was added to input object type 'CampaignFilter'",
      "GraphQL Query.abTests.tenant: Argument 'tenant: ID!' added to field 'Query.abTests'",
    ]);
  });

  it("a changed field type", async () => {
    const sdl = edit(BASELINE, "  variantIds: [String!]!\n", "  variantIds: [String]\n");
    expect(lines(await diffOf(sdl), "breaking")).toHaveLength(1);
  });
});

describe("additions pass", () => {
  it("new fields, types and optional input fields; a new enum value or optional argument is only dangerous", async () => {
    let sdl = edit(
      BASELINE,
      "  winningVariant: String\n",
      "  winningVariant: String\n  archivedAt: DateTime\n",
    );
    sdl = edit(
      sdl,
      "abTests(status: [String!]): [AbTest!]!",
      "abTests(limit: Int = 200, search: String, status: [String!]): [AbTest!]!",
    );
    sdl = edit(sdl, "input CampaignFilter {\n", "input CampaignFilter {\n  owner: String\n");
    sdl = edit(sdl, "enum Granularity {\n  DAY\n", "enum Granularity {\n  DAY\n  HOUR\n");
    sdl = `${sdl}\ntype Extra {\n  id: ID!\n}\n`;
    const changes = await diffOf(sdl);
    expect(lines(changes, "breaking")).toEqual([]);
    expect(lines(changes, "dangerous")).toEqual([
      "GraphQL Granularity.HOUR: Enum value 'HOUR' was added to enum 'Granularity'",
      "GraphQL Query.abTests.limit: Argument 'limit: Int' (with default value) added to field 'Query.abTests'",
      "GraphQL Query.abTests.search: Argument 'search: String' added to field 'Query.abTests'",
    ]);
    expect(lines(changes, "non-breaking")).toEqual([
      "GraphQL AbTest.archivedAt: Field 'archivedAt' was added to object type 'AbTest'",
      "GraphQL CampaignFilter.owner: Input field 'owner' of type 'String' was added to input object type 'CampaignFilter'",
      "GraphQL Extra.id: Field 'id' was added to object type 'Extra'",
      "GraphQL Extra: Type 'Extra' was added",
    ]);
  });
});

describe("the 90-day deprecation rule", () => {
  const reason = "Use results. Deprecated 2026-12-05; removal after 2027-03-05.";

  it("refuses removing a deprecated field on or before its removal date", async () => {
    const changes = await diffOf(withoutWinning, {
      base: deprecatedWinning(reason),
      now: new Date("2027-03-05T23:59:59Z"),
    });
    expect(lines(changes, "breaking")).toEqual([
      "GraphQL AbTest.winningVariant: Field 'winningVariant' (deprecated) was removed from object type 'AbTest' (deprecated 2026-12-05; it may be removed from 2027-03-06T00:00:00.000Z on, not before)",
    ]);
  });

  it("allows it from the day after the removal date, and reports it", async () => {
    const changes = await diffOf(withoutWinning, {
      base: deprecatedWinning(reason),
      now: new Date("2027-03-06T00:00:00Z"),
    });
    expect(lines(changes, "breaking")).toEqual([]);
    expect(lines(changes, "non-breaking")).toEqual([
      "GraphQL AbTest.winningVariant: Field 'winningVariant' (deprecated) was removed from object type 'AbTest', after its deprecation period (deprecated 2026-12-05, removable from 2027-03-06T00:00:00.000Z)",
    ]);
  });

  it("never sooner than 90 days after the deprecation, whatever the reason says", async () => {
    const changes = await diffOf(withoutWinning, {
      base: deprecatedWinning("Deprecated 2026-12-05; removal after 2026-12-20."),
      now: new Date("2027-01-10T00:00:00Z"),
    });
    expect(lines(changes, "breaking")).toHaveLength(1);
  });

  it("refuses removing a field deprecated without dates", async () => {
    const changes = await diffOf(withoutWinning, {
      base: deprecatedWinning("Use results."),
      now: new Date("2099-01-01T00:00:00Z"),
    });
    expect(lines(changes, "breaking")[0]).toMatch(
      /was removed .*it was deprecated, but its @deprecated reason must name both days/,
    );
  });

  it("applies to enum values and arguments too", async () => {
    const base = edit(
      edit(BASELINE, "  WEEK\n", `  WEEK @deprecated(reason: ${JSON.stringify(reason)})\n`),
      "    minSamples: Int = 30\n",
      `    minSamples: Int = 30 @deprecated(reason: ${JSON.stringify(reason)})\n`,
    );
    const current = edit(edit(BASELINE, "  WEEK\n", ""), "    minSamples: Int = 30\n", "");
    const early = await diffOf(current, { base, now: new Date("2027-03-01T00:00:00Z") });
    expect(lines(early, "breaking")).toHaveLength(2);
    const late = await diffOf(current, { base, now: new Date("2027-03-06T00:00:00Z") });
    expect(lines(late, "breaking")).toEqual([]);
    expect(lines(late, "non-breaking")).toHaveLength(2);
  });

  it("lets a type go with the deprecated field that was its only use", async () => {
    const base = edit(
      BASELINE,
      "  significance: SignificanceTest\n",
      `  significance: SignificanceTest @deprecated(reason: ${JSON.stringify(reason)})\n`,
    );
    const current = edit(BASELINE, "  significance: SignificanceTest\n", "").replace(
      /(?:"""[^"]*"""\n)?type SignificanceTest \{[^}]*\}\n\n/,
      "",
    );
    const early = await diffOf(current, { base, now: new Date("2027-03-01T00:00:00Z") });
    expect(lines(early, "breaking")).toHaveLength(2);
    const late = await diffOf(current, { base, now: new Date("2027-03-06T00:00:00Z") });
    expect(lines(late, "breaking")).toEqual([]);
    expect(lines(late, "non-breaking")).toContain(
      "GraphQL SignificanceTest: Type 'SignificanceTest' was removed, with every field that returned or took it (each removed after its deprecation period)",
    );
  });

  it("requires every @deprecated reason to name both days", async () => {
    const changes = await diffOf(deprecatedWinning("Use results instead."));
    expect(lines(changes, "breaking")).toEqual([
      'GraphQL AbTest.winningVariant: deprecated, but its @deprecated reason must name both days, as "Deprecated YYYY-MM-DD; removal after YYYY-MM-DD" (reason: "Use results instead.")',
    ]);
    const impossible = await diffOf(deprecatedWinning("Deprecated 2026-12-05; removal after 2027-02-30."));
    expect(lines(impossible, "breaking")).toEqual([
      "GraphQL AbTest.winningVariant: deprecated, but its @deprecated reason names a day that does not exist",
    ]);
  });

  it("requires the removal date at least 90 days after the deprecation", async () => {
    const soon = await diffOf(deprecatedWinning("Deprecated 2026-12-05; removal after 2027-03-04."));
    expect(lines(soon, "breaking")).toEqual([
      "GraphQL AbTest.winningVariant: deprecated with a removal date too soon: removal 89 days after the deprecation (2026-12-05); the policy needs at least 90",
    ]);
    const ok = await diffOf(deprecatedWinning(reason));
    expect(lines(ok, "breaking")).toEqual([]);
    expect(lines(ok, "non-breaking")).toContain(
      "GraphQL AbTest.winningVariant.@deprecated: Field 'AbTest.winningVariant' is deprecated",
    );
  });

  it("refuses a new deprecation dated before the baseline's release", async () => {
    const changes = await diffOf(deprecatedWinning("Deprecated 2026-10-01; removal after 2026-12-30."));
    expect(lines(changes, "breaking")).toEqual([
      "GraphQL AbTest.winningVariant: newly deprecated but dated 2026-10-01, before the baseline's release (2026-12-02): the notice starts when it is released",
    ]);
  });

  it("refuses moving an announced removal date earlier", async () => {
    const changes = await diffOf(deprecatedWinning(reason), {
      base: deprecatedWinning("Use results. Deprecated 2026-12-05; removal after 2027-04-01."),
    });
    expect(lines(changes, "breaking")).toEqual([
      "GraphQL AbTest.winningVariant: removal date moved earlier, from after 2027-04-01 to after 2027-03-05",
    ]);
  });
});
