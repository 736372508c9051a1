import pg from "pg";
import type { Logger } from "../logger.js";
import { VIEWS_REFRESHED_CHANNEL } from "./refresh-views.js";

/** Reconnect delays after a lost listener connection: doubling from the first, capped at the last. */
const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 10_000;

export type RefreshListener = {
  /** Settles once the first LISTEN is in place (later notifications are heard). */
  ready: Promise<void>;
  close(): Promise<void>;
};

/**
 * Calls `onRefresh` whenever a rollup refresh commits, in this instance or any other: refreshViews notifies
 * VIEWS_REFRESHED_CHANNEL inside its transaction, which PostgreSQL delivers on commit to every session LISTENing on
 * the primary (a standby cannot LISTEN). One dedicated connection; when it drops it reconnects with backoff, and
 * calls `onRefresh` once connected again, for the notifications it may have missed meanwhile.
 */
export function listenForRefreshes(
  primaryUrl: string,
  onRefresh: () => void,
  logger: Logger,
): RefreshListener {
  let closed = false;
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  let delay = RETRY_MIN_MS;
  let listening: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    listening = resolve;
  });

  const reconnectLater = (lost: pg.Client, err?: Error) => {
    if (closed || client !== lost) return;
    client = undefined;
    lost.end().catch(() => {});
    logger.warn(
      { err: err && { message: err.message }, retryMs: delay },
      "refresh listener lost its connection",
    );
    retry = setTimeout(connect, delay);
    retry.unref();
    delay = Math.min(delay * 2, RETRY_MAX_MS);
  };

  async function connect(): Promise<void> {
    if (closed) return;
    const c = new pg.Client({
      connectionString: primaryUrl,
      application_name: "reachgraph_refresh_listener",
    });
    client = c;
    c.on("notification", (message) => {
      if (message.channel === VIEWS_REFRESHED_CHANNEL) onRefresh();
    });
    c.on("error", (err) => reconnectLater(c, err));
    c.on("end", () => reconnectLater(c));
    try {
      await c.connect();
      await c.query(`LISTEN ${VIEWS_REFRESHED_CHANNEL}`);
      delay = RETRY_MIN_MS;
      onRefresh();
      listening();
    } catch (err) {
      reconnectLater(c, err as Error);
    }
  }

  void connect();
  return {
    ready,
    async close() {
      closed = true;
      listening();
      clearTimeout(retry);
      await client?.end().catch(() => {});
    },
  };
}
