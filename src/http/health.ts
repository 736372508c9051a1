import { Router } from "express";
import type pg from "pg";
import type { ReadRouter } from "../db/read-router.js";

const PRIMARY_PROBE_TIMEOUT_MS = 2_000;

async function probePrimary(
  primary: pg.Pool,
): Promise<{ reachable: boolean; latencyMs?: number; error?: string }> {
  const started = performance.now();
  try {
    await Promise.race([
      primary.query("SELECT 1"),
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error("timed out")), PRIMARY_PROBE_TIMEOUT_MS).unref(),
      ),
    ]);
    return { reachable: true, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
  } catch (err) {
    return { reachable: false, error: (err as Error).message };
  }
}

/**
 * GET /healthz: the process is alive (no dependency checked).
 * GET /readyz: the primary answers (503 otherwise) and how each replica is doing: reachable, in recovery, replay lag
 * in bytes and seconds, whether it takes reads now and why not (`replicas`), and where analytics reads go now
 * (`readSource`). An unusable replica degrades the service ("degraded") but does not fail readiness; reads then go
 * to the other replicas, or to the primary when none is left.
 */
export function healthRouter(deps: { primary: pg.Pool; readRouter: ReadRouter }): Router {
  const router = Router();
  router.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  router.get("/readyz", async (_req, res) => {
    deps.readRouter.recheck(); // readiness always looks afresh
    const [primary, { replicas, target }] = await Promise.all([
      probePrimary(deps.primary),
      deps.readRouter.status(),
    ]);
    const status = !primary.reachable
      ? "unavailable"
      : target.source.database === "replica" && replicas.every((r) => r.usable)
        ? "ok"
        : "degraded";
    const first = replicas[0];
    res.status(primary.reachable ? 200 : 503).json({
      status,
      primary,
      // The first replica's status, as before there were several (see `replicas` for each).
      replica: first
        ? first.status
        : { configured: false, note: "no replica configured: reads use the primary" },
      replicas,
      readsFrom: target.source.database,
      readSource: target.source,
      replicaMaxLagSeconds: deps.readRouter.maxLagSeconds,
    });
  });
  return router;
}
