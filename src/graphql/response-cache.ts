import { createHash } from "node:crypto";
import type { RequestHandler } from "express";
import { Kind, type OperationDefinitionNode, parse } from "graphql";
import { currentViewsAsOf } from "../analytics/get-views-as-of.js";
import type { ReadRouter } from "../db/read-router.js";

/** Root fields whose whole answer is built on the views, so it changes only when a refresh moves asOf. */
const VIEW_BACKED = new Set(["overview", "modelLeaderboard", "__typename"]);

/** Which documents are cacheable, memoised by their text (dashboards send the same few documents). */
const verdicts = new Map<string, boolean>();

function cacheable(query: string, operationName: unknown, maxTokens: number): boolean {
  const memoKey = `${typeof operationName === "string" ? operationName : ""}|${query}`;
  const known = verdicts.get(memoKey);
  if (known !== undefined) return known;
  let verdict = false;
  try {
    const doc = parse(query, { maxTokens });
    const ops = doc.definitions.filter(
      (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
    );
    const op = typeof operationName === "string" ? ops.find((o) => o.name?.value === operationName) : ops[0];
    verdict =
      ops.length >= 1 &&
      op !== undefined &&
      op.operation === "query" &&
      op.selectionSet.selections.every((s) => s.kind === Kind.FIELD && VIEW_BACKED.has(s.name.value));
  } catch {
    verdict = false; // let Apollo report the syntax error
  }
  if (verdicts.size > 1000) verdicts.clear();
  verdicts.set(memoKey, verdict);
  return verdict;
}

/**
 * A response cache for view-backed queries (`overview`, `modelLeaderboard`), keyed on the read source, the views'
 * asOf and the request (document, variables, operation): a hit costs no GraphQL execution and, while the
 * looked-up asOf is fresh (a second, see memoizedAsOf), no database round trip.
 * Only successful answers without errors are kept; at most `maxEntries`, least recently used first out.
 */
export function graphqlResponseCache(
  readRouter: ReadRouter,
  maxEntries: number,
  maxTokens: number,
): RequestHandler {
  const entries = new Map<string, string>();
  return async (req, res, next) => {
    const body = req.body as { query?: unknown; variables?: unknown; operationName?: unknown } | undefined;
    if (maxEntries <= 0 || req.method !== "POST" || typeof body?.query !== "string") return next();
    if (!cacheable(body.query, body.operationName, maxTokens)) return next();
    try {
      const target = await readRouter.target();
      const asOf = await currentViewsAsOf(target.pool);
      // On a miss, the request executes with this same target and asOf (see createContext).
      res.locals.readTarget = target;
      res.locals.asOf = asOf;
      // The body carries extensions.readSource, so the source (and any fallback reason) is part of the key.
      const key = `${JSON.stringify(target.source)}|${asOf.toISOString()}|${createHash("sha256")
        .update(JSON.stringify([body.query, body.variables ?? null, body.operationName ?? null]))
        .digest("base64url")}`;
      const hit = entries.get(key);
      if (hit !== undefined) {
        entries.delete(key);
        entries.set(key, hit);
        res.status(200).type("application/json; charset=utf-8").set("X-Cache", "hit").send(hit);
        return;
      }
      const send = res.send.bind(res);
      res.send = (payload?: unknown) => {
        if (res.statusCode === 200 && typeof payload === "string" && !payload.includes('"errors"')) {
          entries.set(key, payload);
          while (entries.size > maxEntries) {
            const oldest = entries.keys().next().value;
            if (oldest === undefined) break;
            entries.delete(oldest);
          }
        }
        res.set("X-Cache", "miss");
        return send(payload);
      };
      next();
    } catch (err) {
      next(err);
    }
  };
}
