/**
 * `npm run contract:check [-- --baseline DIR] [-- --now ISO]`: generates the contracts from the code, checks that
 * openapi.json and schema.graphql are those, and compares them with the released baseline (contracts/). Exit 1 on
 * a stale file or a breaking change; the report lists every change, grouped Breaking / Dangerous / Non-breaking.
 */
import { parseArgs } from "node:util";
import { formatReport, hasBreaking } from "../contract/changes.js";
import {
  checkContracts,
  contractPaths,
  generatedContracts,
  REPO_ROOT,
  readBaseline,
  readCommitted,
} from "../contract/contracts.js";
import { formatDay } from "../contract/deprecation.js";

const { values } = parseArgs({ options: { baseline: { type: "string" }, now: { type: "string" } } });
const now = values.now ? new Date(values.now) : new Date();
if (Number.isNaN(now.getTime())) throw new Error(`--now ${values.now}: not an ISO 8601 date`);
const paths = contractPaths(REPO_ROOT, values.baseline);
const baseline = readBaseline(paths);

const result = await checkContracts({
  baseline,
  committed: readCommitted(paths),
  generated: generatedContracts(),
  now,
});
console.log(
  `Contract check against the release of ${formatDay(baseline.releasedAt)} (now: ${now.toISOString()})`,
);
console.log(formatReport(result.changes));
for (const line of result.stale) console.log(`STALE: ${line}`);
if (!result.ok) {
  if (hasBreaking(result.changes)) {
    console.log(
      "contract:check FAILED: a released client would break. Make the change additive, or deprecate first " +
        "(README, Contracts and releases).",
    );
  }
  if (result.stale.length > 0) console.log("contract:check FAILED: the committed contract files are stale.");
  process.exit(1);
}
console.log("contract:check passed");
