import { lexicographicSortSchema, printSchema } from "graphql";
import { builder } from "../builder.js";
import "./scalars.js";
import "./kpis.js";
import "./overview.js";
import "./campaigns.js";
import "./leaderboard.js";
import "./ab-tests.js";
import "./lineage.js";

builder.queryType({
  description:
    "reachgraph analytics: read-only, aggregated, no PII. Every payload carries `asOf`, the refresh time of the " +
    "materialized views it was built from.",
});

/** The read-only analytics schema (Query only: no Mutation, no Subscription). */
export const schema = builder.toSchema();

/** The SDL committed as schema.graphql. */
export function printedSchema(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
