import { ApolloServer, type ApolloServerPlugin } from "@apollo/server";
import { unwrapResolverError } from "@apollo/server/errors";
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
} from "@apollo/server/plugin/disabled";
import { ApolloArmor } from "@escape.tech/graphql-armor";
import { renderGraphiQL } from "@graphql-yoga/render-graphiql";
import express, { type Request, type RequestHandler, Router } from "express";
import { GraphQLError, type GraphQLFormattedError, type ValidationRule } from "graphql";
import type { AnalyticsCache } from "../analytics/analytics-cache.js";
import type { GraphQLConfig } from "../config.js";
import type { ReadRouter } from "../db/read-router.js";
import { DomainError } from "../domain/errors.js";
import type { Principal, Scope } from "../domain/principal.js";
import { verifyJsonText } from "../http/json-body.js";
import type { Logger } from "../logger.js";
import { createContext, type GraphQLContext } from "./context.js";
import { graphqlMiddleware } from "./read-failover.js";
import { responseCachePlugin } from "./response-cache.js";
import { schema } from "./schema/index.js";

export type GraphQLDependencies = {
  readRouter: ReadRouter;
  /** The API-key check the REST API uses; GraphQL needs the `analytics:read` scope. */
  authenticate: (req: Request, scope: Scope) => Promise<Principal>;
  logger: Logger;
  config: GraphQLConfig;
  /** The read side's cache: analytics answers and the responses of view-backed queries, keyed by asOf. */
  analyticsCache: AnalyticsCache;
};

export const GRAPHQL_PATH = "/graphql";

export const DEFAULT_GRAPHIQL_QUERY = `# reachgraph analytics: read-only, aggregated, no PII.
# Put an API key with the analytics:read scope in the Headers tab:
#   {"Authorization": "Bearer rg_…"}
query Leaderboard {
  modelLeaderboard(taskType: "website_analysis", period: "30d", orderBy: AVG_QUALITY) {
    asOf
    period { from to }
    entries {
      rank
      modelName
      usageCount
      avgQuality
      avgCostUsd
      conversionRate
      conversionRateInterval { low high }
      p95DurationSeconds
      belowMinSamples
    }
  }
}
`;

/** Errors the client caused keep their message; anything else is logged and answered without internals. */
function formatError(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    if (original instanceof DomainError) {
      return {
        message: original.message,
        locations: formatted.locations,
        path: formatted.path,
        extensions: {
          code:
            original.status === 401
              ? "UNAUTHENTICATED"
              : original.status === 403
                ? "FORBIDDEN"
                : "BAD_USER_INPUT",
          ...original.extensions,
        },
      };
    }
    const code = formatted.extensions?.code;
    // graphql-js's own errors (syntax, validation, "not configured to execute …") carry no original error.
    const fromGraphql = original instanceof GraphQLError && !original.originalError;
    if ((typeof code === "string" && code !== "INTERNAL_SERVER_ERROR") || fromGraphql) {
      const { stacktrace: _omit, ...extensions } = formatted.extensions ?? {};
      return {
        ...formatted,
        extensions: { ...extensions, code: code === "INTERNAL_SERVER_ERROR" || !code ? "BAD_REQUEST" : code },
      };
    }
    logger.error(
      {
        err:
          original instanceof Error ? { name: original.name, message: original.message } : String(original),
      },
      "graphql resolver failed",
    );
    return {
      message: "Internal server error. Quote the request id when reporting it.",
      path: formatted.path,
      extensions: { code: "INTERNAL_SERVER_ERROR" },
    };
  };
}

/** The API is read-only: a mutation or subscription is refused at validation (HTTP 400), before execution. */
const readOnly: ValidationRule = (context) => ({
  OperationDefinition(node) {
    if (node.operation !== "query")
      context.reportError(
        new GraphQLError(`This API is read-only: ${node.operation} operations are not supported.`, {
          nodes: node,
        }),
      );
  },
});

/**
 * Says in every response where it was read: `extensions.readSource` (which replica, or the primary and why; after a
 * failover retry, `retriedFrom` names the replica that failed).
 */
const readSourcePlugin: ApolloServerPlugin<GraphQLContext> = {
  async requestDidStart() {
    return {
      async willSendResponse({ response, contextValue }) {
        if (response.body.kind === "single") {
          response.body.singleResult.extensions = {
            ...response.body.singleResult.extensions,
            readSource: contextValue.read.source,
          };
        }
      },
    };
  },
};

export function createApolloServer(deps: Pick<GraphQLDependencies, "logger" | "config">) {
  const { config } = deps;
  const armor = new ApolloArmor({
    maxDepth: { n: config.maxDepth },
    maxAliases: { n: config.maxAliases },
    // The token limit is graphql-js's own parse option (below): armor's token plugin re-parses inside an Apollo
    // hook, where a syntax error turns into an HTTP 500.
    maxTokens: { enabled: false },
    maxDirectives: { n: 10 },
    costLimit: { maxCost: config.maxCost },
    blockFieldSuggestion: { enabled: !config.introspection },
  });
  const protection = armor.protect();
  return new ApolloServer<GraphQLContext>({
    schema,
    introspection: config.introspection,
    hideSchemaDetailsFromClientErrors: !config.introspection,
    includeStacktraceInErrorResponses: false,
    allowBatchedHttpRequests: false,
    parseOptions: { maxTokens: config.maxTokens },
    formatError: formatError(deps.logger),
    plugins: [
      // graphql-armor's typings point at Apollo's CommonJS build; the plugins are plain objects either way.
      ...(protection.plugins as unknown as ApolloServerPlugin<GraphQLContext>[]),
      ApolloServerPluginLandingPageDisabled(),
      // No @cacheControl hints here (answers are cached by asOf, response-cache.ts): skip its per-field hook.
      ApolloServerPluginCacheControlDisabled(),
      responseCachePlugin,
      readSourcePlugin,
    ],
    validationRules: [readOnly, ...protection.validationRules],
  });
}

/**
 * `/graphql`: POST (and GET) queries for API clients with an `analytics:read` key; a browser's GET gets GraphiQL,
 * served from node_modules with no outside request (Apollo's landing page needs a CDN and is disabled).
 */
export function graphqlRouter(deps: GraphQLDependencies): Router {
  const server = createApolloServer(deps);
  server.startInBackgroundHandlingStartupErrorsByLoggingAndFailingAllRequests();
  let graphiql: string | undefined;
  const router = Router();

  const page: RequestHandler = (req, res, next) => {
    if (req.method !== "GET" || !req.accepts("text/html") || req.query.query !== undefined) return next();
    graphiql ??= renderGraphiQL({
      title: "reachgraph analytics — GraphiQL",
      endpoint: GRAPHQL_PATH,
      defaultQuery: DEFAULT_GRAPHIQL_QUERY,
      headers: JSON.stringify({ Authorization: "Bearer " }, null, 2),
      shouldPersistHeaders: true,
    });
    res.locals.routePattern = GRAPHQL_PATH;
    res.type("html").set("Cache-Control", "no-cache").send(graphiql);
  };

  const authenticate: RequestHandler = async (req, res, next) => {
    res.locals.routePattern = GRAPHQL_PATH;
    try {
      res.locals.principal = await deps.authenticate(req, "analytics:read");
      next();
    } catch (err) {
      next(err);
    }
  };

  router.get(GRAPHQL_PATH, page);
  router.use(
    GRAPHQL_PATH,
    authenticate,
    express.json({ limit: "100kb", verify: verifyJsonText }),
    graphqlMiddleware(server, {
      readRouter: deps.readRouter,
      firstTarget: () => deps.readRouter.target(),
      // A retry reads elsewhere: its context looks asOf up on its own read target (the cache keys by database).
      context: (read, res) => createContext(read, res.locals.principal as Principal, deps.analyticsCache),
    }),
  );
  return router;
}
