import { randomUUID } from "node:crypto";
import express, { type Express, type RequestHandler } from "express";
import { AnalyticsCache } from "../analytics/analytics-cache.js";
import type { GraphQLConfig } from "../config.js";
import type { Databases } from "../db/databases.js";
import { EventValidator } from "../events/schemas.js";
import { graphqlRouter } from "../graphql/server.js";
import type { Logger } from "../logger.js";
import { ApiKeyAuthenticator } from "../rest/auth.js";
import { restRouter } from "../rest/index.js";
import { DEFAULT_WRITE_GROUPS, type WriteGroupOptions, WriteGroups } from "../rest/write-groups.js";
import { healthRouter } from "./health.js";
import { errorHandler, notFoundHandler } from "./problem.js";

export type AppDependencies = {
  db: Databases;
  logger: Logger;
  /** Request clock; defaults to the system clock. */
  clock?: () => Date;
  /** Requests per minute per API key unless the key sets its own. */
  rateLimitPerMinute?: number;
  graphql?: GraphQLConfig;
  /**
   * The read side's one cache (analytics answers and GraphQL responses, keyed by asOf); by default one of 1000
   * entries reusing a looked-up asOf for a second. main.ts builds it from config and hands it refresh notifications.
   */
  analyticsCache?: AnalyticsCache;
  /** Group commit of concurrent single-event writes (src/rest/write-groups.ts); DEFAULT_WRITE_GROUPS by default. */
  writeGroups?: WriteGroupOptions;
};

export const DEFAULT_GRAPHQL_CONFIG: GraphQLConfig = {
  introspection: true,
  maxDepth: 12,
  maxAliases: 15,
  maxTokens: 2000,
  maxCost: 50_000,
};

const REQUEST_ID = /^[\w.:-]{1,100}$/;

/** Echo a sane incoming X-Request-Id or make one; every log line and problem document carries it. */
const requestId: RequestHandler = (req, res, next) => {
  const incoming = req.get("x-request-id");
  res.set("X-Request-Id", incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID());
  next();
};

/**
 * One log line per request when it ends: request id, method, status, duration and the route pattern
 * (`res.locals.routePattern`, set by whoever handles the request), never the URL: paths hold tracking tokens and query
 * strings can hold emails. Headers and bodies are not logged at all. Successes log at debug, client errors at info,
 * server errors at error. Nothing is allocated for a line the level filters out (a cached dashboard answer takes
 * about 0.3 ms; a per-request child logger was a tenth of it).
 */
function requestLogger(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = performance.now();
    const done = () => {
      res.removeListener("finish", done);
      res.removeListener("close", done);
      const aborted = !res.writableFinished;
      const level = res.statusCode >= 500 ? "error" : res.statusCode >= 400 || aborted ? "info" : "debug";
      if (!logger.isLevelEnabled(level)) return;
      const route = res.locals.routePattern;
      logger[level](
        {
          req: { id: String(res.getHeader("X-Request-Id")), method: req.method },
          res: { statusCode: res.statusCode },
          responseTime: Math.round(performance.now() - started),
          ...(route ? { route: String(route) } : {}),
        },
        aborted ? "request aborted" : res.statusCode >= 500 ? "request failed" : "request completed",
      );
    };
    res.on("finish", done);
    res.on("close", done);
    next();
  };
}

export function createApp({
  db,
  logger,
  clock = () => new Date(),
  rateLimitPerMinute = 6000,
  graphql = DEFAULT_GRAPHQL_CONFIG,
  analyticsCache = new AnalyticsCache({ maxEntries: 1000, asOfTtlMs: 1000 }),
  writeGroups = DEFAULT_WRITE_GROUPS,
}: AppDependencies): Express {
  const authenticator = new ApiKeyAuthenticator(db.primary, logger);
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", false);
  app.use(requestId);
  app.use(requestLogger(logger));
  app.use(healthRouter({ primary: db.primary, readRouter: db.readRouter }));
  app.use(
    graphqlRouter({
      readRouter: db.readRouter,
      authenticate: (req, scope) => authenticator.authenticate(req, scope),
      logger,
      config: graphql,
      analyticsCache,
    }),
  );
  app.use(
    restRouter({
      primary: db.primary,
      readRouter: db.readRouter,
      analyticsCache,
      logger,
      authenticator,
      events: new EventValidator(),
      clock,
      defaultRateLimitPerMinute: rateLimitPerMinute,
      writeGroups: new WriteGroups(writeGroups),
    }),
  );
  app.use(notFoundHandler);
  app.use(errorHandler(logger));
  return app;
}
