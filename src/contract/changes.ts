/**
 * One change between a released contract (the baseline in contracts/) and the current one. `breaking` fails
 * `npm run contract:check`; `dangerous` is reported (clients that switch exhaustively may need an update);
 * `non-breaking` is listed for the changelog.
 */
export type ChangeLevel = "breaking" | "dangerous" | "non-breaking";

export type ContractChange = {
  api: "REST" | "GraphQL";
  level: ChangeLevel;
  /** Where: `POST /api/v2/leads` (plus a field path), or a GraphQL schema coordinate such as `Query.modelLeaderboard`. */
  location: string;
  message: string;
};

const GROUPS: readonly { level: ChangeLevel; title: string }[] = [
  { level: "breaking", title: "Breaking" },
  { level: "dangerous", title: "Dangerous" },
  { level: "non-breaking", title: "Non-breaking" },
];

export function hasBreaking(changes: readonly ContractChange[]): boolean {
  return changes.some((c) => c.level === "breaking");
}

export function changeLine(c: ContractChange): string {
  return `${c.api} ${c.location}: ${c.message}`;
}

/** The changes of one level as report lines, sorted and unique so the same two contracts give the same text. */
function groupLines(
  changes: readonly ContractChange[],
  level: ChangeLevel,
  line: (c: ContractChange) => string,
) {
  return [...new Set(changes.filter((c) => c.level === level).map(line))].sort();
}

/** The report, one line per change, grouped Breaking / Dangerous / Non-breaking (an empty group says "none"). */
export function formatReport(changes: readonly ContractChange[]): string {
  const lines: string[] = [];
  for (const { level, title } of GROUPS) {
    const group = groupLines(changes, level, changeLine);
    lines.push(`${title} (${group.length})`, ...(group.length ? group : ["none"]).map((l) => `  ${l}`));
  }
  return lines.join("\n");
}

/** The same report as Markdown, for CHANGELOG.md: a `###` heading per group, one bullet per change. */
export function formatMarkdownReport(changes: readonly ContractChange[]): string {
  const sections: string[] = [];
  for (const { level, title } of GROUPS) {
    const group = groupLines(changes, level, (c) => `${c.api} \`${c.location}\`: ${c.message}`);
    sections.push(
      `### ${title} (${group.length})\n\n${(group.length ? group : ["none"]).map((l) => `- ${l}`).join("\n")}`,
    );
  }
  return sections.join("\n\n");
}
