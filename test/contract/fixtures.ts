import { readFileSync } from "node:fs";

/**
 * The released OpenAPI baseline (contracts/openapi.released.json) as a mutable copy. It was released before
 * deprecated operations carried their dates, so the copy gets v1's (what the code documents now): a fixture that
 * keeps the deprecation policy, so each test sees only the change it makes.
 */
// biome-ignore lint/suspicious/noExplicitAny: the tests edit an OpenAPI document freely
export type Doc = any;

export function releasedOpenapiWithDates(): Doc {
  const doc = JSON.parse(
    readFileSync(new URL("../../contracts/openapi.released.json", import.meta.url), "utf8"),
  );
  for (const item of Object.values(doc.paths) as Doc[]) {
    for (const op of Object.values(item) as Doc[]) {
      if (!op.deprecated) continue;
      op["x-deprecated-at"] = "2026-11-25T00:00:00.000Z";
      op["x-sunset"] = "2027-02-23T00:00:00.000Z";
    }
  }
  return doc;
}
