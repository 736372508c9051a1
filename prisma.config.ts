// Prisma's CLI would download a schema-engine binary, which cannot be fetched here; `prisma generate` never runs it,
// so point it at a no-op. Migrations are SQL run by node-pg-migrate (see migrations/).
process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= "/bin/false";

import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: "prisma/schema.prisma",
  datasource: {
    url: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:54329/reachgraph",
  },
});
