/**
 * `npm run graphql:schema` — writes the printed SDL of the GraphQL API to schema.graphql (committed; a test fails
 * when it is stale).
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { printedSchema } from "../graphql/schema/index.js";

export const SCHEMA_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../schema.graphql");

await writeFile(SCHEMA_FILE, printedSchema());
console.log(`wrote ${path.relative(process.cwd(), SCHEMA_FILE)}`);
