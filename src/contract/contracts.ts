import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { printedSchema } from "../graphql/schema/index.js";
import { restOpenApiDocument } from "../rest/index.js";
import { type ContractChange, hasBreaking } from "./changes.js";
import { parseDay } from "./deprecation.js";
import { diffGraphql } from "./graphql-diff.js";
import { diffOpenApi } from "./openapi-diff.js";

/** The two contracts of the API: the OpenAPI document (parsed JSON) and the printed GraphQL SDL. */
export type Contracts = { openapi: unknown; graphql: string };

export type Baseline = Contracts & { releasedAt: Date };

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** Where a repository keeps its contracts: the committed current ones, the released baselines, the changelog. */
export type ContractPaths = {
  openapi: string;
  graphql: string;
  baselineOpenapi: string;
  baselineGraphql: string;
  released: string;
  changelog: string;
};

export function contractPaths(root = REPO_ROOT, baselineDir = path.join(root, "contracts")): ContractPaths {
  return {
    openapi: path.join(root, "openapi.json"),
    graphql: path.join(root, "schema.graphql"),
    baselineOpenapi: path.join(baselineDir, "openapi.released.json"),
    baselineGraphql: path.join(baselineDir, "schema.released.graphql"),
    released: path.join(baselineDir, "released.json"),
    changelog: path.join(root, "CHANGELOG.md"),
  };
}

/** The contracts the code generates now, in memory (what `npm run openapi` and `npm run graphql:schema` write). */
export function generatedContracts(): Contracts {
  return { openapi: JSON.parse(JSON.stringify(restOpenApiDocument())), graphql: printedSchema() };
}

export function readCommitted(paths: ContractPaths): Contracts {
  return {
    openapi: existsSync(paths.openapi) ? JSON.parse(readFileSync(paths.openapi, "utf8")) : null,
    graphql: existsSync(paths.graphql) ? readFileSync(paths.graphql, "utf8") : "",
  };
}

export function readBaseline(paths: ContractPaths): Baseline {
  const released = JSON.parse(readFileSync(paths.released, "utf8")) as { released_at?: unknown };
  const releasedAt = typeof released.released_at === "string" ? parseDay(released.released_at) : null;
  if (!releasedAt) throw new Error(`${paths.released}: released_at must be a YYYY-MM-DD day`);
  return {
    openapi: JSON.parse(readFileSync(paths.baselineOpenapi, "utf8")),
    graphql: readFileSync(paths.baselineGraphql, "utf8"),
    releasedAt,
  };
}

/** Committed contract files that differ from what the code generates, with the command that rewrites each. */
export function staleCommittedFiles(committed: Contracts, generated: Contracts): string[] {
  const stale: string[] = [];
  if (JSON.stringify(committed.openapi) !== JSON.stringify(generated.openapi)) {
    stale.push("openapi.json differs from what the routes generate: run `npm run openapi`");
  }
  if (committed.graphql !== generated.graphql) {
    stale.push("schema.graphql differs from the Pothos schema: run `npm run graphql:schema`");
  }
  return stale;
}

/** Every change from the released baseline to `current`, REST then GraphQL. */
export async function compareContracts(
  baseline: Baseline,
  current: Contracts,
  now: Date,
): Promise<ContractChange[]> {
  const options = { now, baselineReleasedAt: baseline.releasedAt };
  return [
    ...diffOpenApi(baseline.openapi, current.openapi, options),
    ...(await diffGraphql(baseline.graphql, current.graphql, options)),
  ];
}

export type CheckResult = { stale: string[]; changes: ContractChange[]; ok: boolean };

/**
 * `npm run contract:check`: the committed files must be what the code generates, and the generated contracts must
 * not break the released baseline.
 */
export async function checkContracts(input: {
  baseline: Baseline;
  committed: Contracts;
  generated: Contracts;
  now: Date;
}): Promise<CheckResult> {
  const stale = staleCommittedFiles(input.committed, input.generated);
  const changes = await compareContracts(input.baseline, input.generated, input.now);
  return { stale, changes, ok: stale.length === 0 && !hasBreaking(changes) };
}
