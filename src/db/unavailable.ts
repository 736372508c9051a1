import { DatabaseUnavailableError } from "../domain/errors.js";

/** Socket-level failures of a connection to the server. */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
]);

/**
 * SQLSTATEs of an unavailable server: class 08 (connection exception); 57P01–57P03 (terminated by an administrator,
 * crash shutdown, starting up or shutting down); 53300 (too many connections); 25006 (a write reached a read-only
 * server: a primary that was demoted in a failover).
 */
const UNAVAILABLE_SQLSTATES = new Set(["57P01", "57P02", "57P03", "53300", "25006"]);

/** node-postgres and pg-pool say these in plain messages, with no code. */
const DRIVER_MESSAGES = [
  "Connection terminated",
  "timeout exceeded when trying to connect",
  "is not queryable",
  "Cannot use a pool after calling end on the pool",
];

/**
 * Which errors mean "the database is not there right now" (see DatabaseUnavailableError): a server that is down,
 * restarting or failing over, a dropped connection, or no connection to be had in time.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && typeof e === "object" && depth < 4; depth++) {
    if (e instanceof DatabaseUnavailableError) return true;
    const { code, message, severity } = e as { code?: unknown; message?: unknown; severity?: unknown };
    if (typeof code === "string") {
      if (NETWORK_CODES.has(code)) return true;
      if (typeof severity === "string" && (code.startsWith("08") || UNAVAILABLE_SQLSTATES.has(code)))
        return true;
    }
    if (typeof message === "string" && DRIVER_MESSAGES.some((m) => message.includes(m))) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
