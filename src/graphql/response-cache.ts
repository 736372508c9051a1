import { createHash } from "node:crypto";
import { type ApolloServerPlugin, HeaderMap } from "@apollo/server";
import { Kind, type OperationDefinitionNode } from "graphql";
import type { GraphQLContext } from "./context.js";

/** Root fields whose whole answer is built on the rollups, so it changes only when a refresh moves asOf. */
const VIEW_BACKED = new Set(["overview", "modelLeaderboard", "__typename"]);

const viewBacked = (operation: OperationDefinitionNode) =>
  operation.operation === "query" &&
  operation.selectionSet.selections.every((s) => s.kind === Kind.FIELD && VIEW_BACKED.has(s.name.value));

/** What a hit answers with: the data only (the readSource plugin adds `extensions.readSource` to every response). */
type CachedResponse = { data: Record<string, unknown> };

/**
 * The GraphQL response cache, as an Apollo plugin on the request's lifecycle: a query whose root fields are all
 * view-backed (`overview`, `modelLeaderboard`) is answered from the read side's cache (analytics-cache.ts) under
 * (read database, asOf, document, variables, operation), before execution; a miss is executed and, when
 * it has data and no errors, kept. `X-Cache` says which it was. Apollo has parsed and validated the document by
 * then (its own document cache keeps that cheap), so a cached answer is never one a fresh request would refuse.
 */
export const responseCachePlugin: ApolloServerPlugin<GraphQLContext> = {
  async requestDidStart() {
    let key: string | undefined;
    let asOf: Date | undefined;
    let hit = false;
    return {
      async responseForOperation({ operation, source, request, contextValue }) {
        const { cache, read } = contextValue;
        if (!cache.enabled || !viewBacked(operation)) return null;
        asOf = await contextValue.asOf();
        // Kept per read database (the cache keys by pool); only the data is kept, and every response gets its own
        // extensions.readSource (server.ts), so the source itself is not part of the key.
        key = `graphql|${createHash("sha256")
          .update(JSON.stringify([source, request.variables ?? null, request.operationName ?? null]))
          .digest("base64url")}`;
        const cached = cache.peek<CachedResponse>(read.pool, asOf, key);
        if (!cached) return null;
        hit = true;
        return {
          http: { status: 200, headers: new HeaderMap() },
          body: { kind: "single", singleResult: { ...cached } },
        };
      },
      async willSendResponse({ response, contextValue }) {
        if (key === undefined || asOf === undefined) return;
        response.http.headers.set("x-cache", hit ? "hit" : "miss");
        const body = response.body;
        if (hit || body.kind !== "single") return;
        const { data, errors } = body.singleResult;
        if (data && !errors && (response.http.status ?? 200) === 200)
          contextValue.cache.store(contextValue.read.pool, asOf, key, { data });
      },
    };
  },
};
