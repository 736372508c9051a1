import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { type ContractChange, formatMarkdownReport, hasBreaking } from "./changes.js";
import {
  type Baseline,
  type ContractPaths,
  type Contracts,
  compareContracts,
  staleCommittedFiles,
} from "./contracts.js";
import { formatDay } from "./deprecation.js";

const CHANGELOG_MARKER = "<!-- npm run contract:release adds each release below this line, newest first -->";
const CHANGELOG_HEADER = `# Changelog

Contract releases of reachgraph's APIs: the REST API (\`contracts/openapi.released.json\`) and the GraphQL API
(\`contracts/schema.released.graphql\`). \`npm run contract:release\` writes each entry; \`npm run contract:check\`
(part of \`npm test\`) compares the code with the latest release. Policy: README, "Contracts and releases".

${CHANGELOG_MARKER}
`;

export type ReleaseResult =
  | { status: "released"; changes: ContractChange[]; entry: string }
  | { status: "unchanged"; changes: ContractChange[] }
  | { status: "refused"; changes: ContractChange[]; reasons: string[] };

/** The changelog entry of a release: its day and the report of what changed since the previous one. */
export function changelogEntry(now: Date, changes: readonly ContractChange[], note?: string): string {
  return `${[`## ${formatDay(now)}`, ...(note ? [note] : []), formatMarkdownReport(changes)].join("\n\n")}\n`;
}

/** Inserts an entry below the marker (newest first), creating the changelog when there is none. */
export function addChangelogEntry(file: string, entry: string): void {
  const text = existsSync(file) ? readFileSync(file, "utf8") : CHANGELOG_HEADER;
  const at = text.indexOf(CHANGELOG_MARKER);
  const next =
    at === -1
      ? `${text.trimEnd()}\n\n${entry}`
      : `${text.slice(0, at + CHANGELOG_MARKER.length)}\n\n${entry}${text.slice(at + CHANGELOG_MARKER.length).replace(/^\n+/, "\n")}`;
  writeFileSync(file, next.replace(/\n*$/, "\n"));
}

/**
 * `npm run contract:release`: makes the generated contracts the new baseline and records the release in the
 * changelog. Refused while the committed files are stale or the contracts break the previous release: a removal
 * needs its deprecation period to have passed, and this is the only way a removal reaches the baseline.
 */
export async function releaseContracts(input: {
  paths: ContractPaths;
  baseline: Baseline;
  committed: Contracts;
  generated: Contracts;
  now: Date;
}): Promise<ReleaseResult> {
  const { paths, baseline, generated, now } = input;
  const changes = await compareContracts(baseline, generated, now);
  const reasons = staleCommittedFiles(input.committed, generated);
  if (hasBreaking(changes)) reasons.push("the contracts break the previous release (see Breaking)");
  if (reasons.length > 0) return { status: "refused", changes, reasons };
  const openapiText = `${JSON.stringify(generated.openapi, null, 2)}\n`;
  const sameOpenapi = JSON.stringify(generated.openapi) === JSON.stringify(baseline.openapi);
  if (sameOpenapi && generated.graphql === baseline.graphql) return { status: "unchanged", changes };

  writeFileSync(paths.baselineOpenapi, openapiText);
  writeFileSync(paths.baselineGraphql, generated.graphql);
  writeFileSync(paths.released, `${JSON.stringify({ released_at: formatDay(now) }, null, 2)}\n`);
  const entry = changelogEntry(
    now,
    changes,
    changes.length === 0
      ? "Descriptions and examples only; no change to the shape of either API."
      : undefined,
  );
  addChangelogEntry(paths.changelog, entry);
  return { status: "released", changes, entry };
}
