/**
 * `npm run contract:bundle [-- --out DIR]`: writes the portal artefact to dist/contract/ (gitignored): openapi.json
 * with examples, schema.graphql, and index.html, a self-contained Swagger UI rendering that opens offline.
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { buildBundle, writeBundle } from "../contract/bundle.js";
import { generatedContracts, REPO_ROOT } from "../contract/contracts.js";

const { values } = parseArgs({ options: { out: { type: "string" } } });
const dir = path.resolve(values.out ?? path.join(REPO_ROOT, "dist/contract"));
for (const file of writeBundle(dir, buildBundle(generatedContracts()))) {
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}
