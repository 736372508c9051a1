/**
 * `npm run contract:release`: copies the generated contracts to contracts/ (the new baseline) and adds the report of
 * the changes since the previous release to CHANGELOG.md. Refused (exit 1) while openapi.json/schema.graphql are
 * stale or the change breaks the previous release. Commit contracts/ and CHANGELOG.md afterwards.
 */
import { parseArgs } from "node:util";
import { formatReport } from "../contract/changes.js";
import {
  contractPaths,
  generatedContracts,
  REPO_ROOT,
  readBaseline,
  readCommitted,
} from "../contract/contracts.js";
import { releaseContracts } from "../contract/release.js";

const { values } = parseArgs({ options: { now: { type: "string" } } });
const now = values.now ? new Date(values.now) : new Date();
if (Number.isNaN(now.getTime())) throw new Error(`--now ${values.now}: not an ISO 8601 date`);
const paths = contractPaths(REPO_ROOT);
const result = await releaseContracts({
  paths,
  baseline: readBaseline(paths),
  committed: readCommitted(paths),
  generated: generatedContracts(),
  now,
});
if (result.status === "refused") {
  console.log(formatReport(result.changes));
  for (const reason of result.reasons) console.log(`REFUSED: ${reason}`);
  process.exit(1);
}
if (result.status === "unchanged") console.log("The contracts equal the latest release: nothing to release.");
else {
  console.log(result.entry);
  console.log("Released: commit contracts/ and CHANGELOG.md.");
}
