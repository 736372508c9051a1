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

/**
 * The report, one line per change, grouped Breaking / Dangerous / Non-breaking (an empty group says "none").
 * `heading` prefixes each group title (`## ` or `### ` for Markdown); `bullet` each line.
 */
export function formatReport(
  changes: readonly ContractChange[],
  style: { heading: string; bullet: string } = { heading: "", bullet: "  " },
): string {
  const lines: string[] = [];
  for (const { level, title } of GROUPS) {
    // Sorted and unique, so the report of the same two contracts is always the same text.
    const group = [...new Set(changes.filter((c) => c.level === level).map(changeLine))].sort();
    lines.push(`${style.heading}${title} (${group.length})`);
    if (group.length === 0) lines.push(`${style.bullet}none`);
    for (const line of group) lines.push(`${style.bullet}${line}`);
  }
  return lines.join("\n");
}
