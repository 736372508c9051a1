import { type ApolloServer, HeaderMap, type HTTPGraphQLResponse } from "@apollo/server";
import type { RequestHandler, Response } from "express";
import type { ReadRouter, ReadTarget } from "../db/read-router.js";
import type { GraphQLContext } from "./context.js";

/**
 * Apollo's express integration (`@as-integrations/express5`'s `expressMiddleware`, same request and response
 * handling) plus one bounded retry: a request whose answer has errors while it read a replica, and whose replica a
 * fresh check then finds unusable (stopped, unreachable, lagging), is executed once more on the router's next target
 * — another replica or the primary — and the client gets that answer, with `extensions.readSource.retriedFrom`
 * naming the replica that failed. A replica that is still healthy means the error was the query's own: no retry.
 * Reads are side-effect free (the API is read-only), so running one twice is safe. At most one retry, so a request
 * costs at most two executions and one extra replica check.
 */
export function graphqlMiddleware(
  server: ApolloServer<GraphQLContext>,
  options: {
    readRouter: ReadRouter;
    /** The context of one execution on `read`; `retry` is true for the second one. */
    context: (read: ReadTarget, res: Response, retry: boolean) => GraphQLContext;
    /** Where the first execution reads (the response cache may have chosen already). */
    firstTarget: (res: Response) => Promise<ReadTarget>;
  },
): RequestHandler {
  server.assertStarted("graphqlMiddleware()");
  return async (req, res) => {
    if (!("body" in req)) {
      res.status(500).send("`req.body` is not set: the json middleware must run before GraphQL.");
      return;
    }
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(", ") : value);
    }
    const queryStart = req.url.indexOf("?");
    const httpGraphQLRequest = {
      method: req.method.toUpperCase(),
      headers,
      search: queryStart >= 0 ? req.url.slice(queryStart) : "",
      body: req.body as unknown,
    };
    const execute = (read: ReadTarget, retry: boolean) =>
      server.executeHTTPGraphQLRequest({
        httpGraphQLRequest,
        context: async () => options.context(read, res, retry),
      });

    const first = await options.firstTarget(res);
    let response = await execute(first, false);
    if (hasErrors(response)) {
      const next = await options.readRouter.retryTarget(first.source);
      if (next) response = await execute(next, true);
    }
    for (const [key, value] of response.headers) res.setHeader(key, value);
    res.statusCode = response.status || 200;
    if (response.body.kind === "complete") {
      res.send(response.body.string);
      return;
    }
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  };
}

/** A complete answer that carries `errors` (the string test first: a successful answer is not parsed again). */
function hasErrors(response: HTTPGraphQLResponse): boolean {
  if (response.body.kind !== "complete" || !response.body.string.includes('"errors"')) return false;
  try {
    return Array.isArray((JSON.parse(response.body.string) as { errors?: unknown }).errors);
  } catch {
    return false;
  }
}
