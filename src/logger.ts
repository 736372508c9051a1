import { pino } from "pino";

/**
 * Structured JSON logs. Connection strings are logged only through `redactUrl`, and the paths below are censored
 * wherever they appear so that a password, token or a person's contact details never reach a log line by accident.
 */
export const REDACTED_PATHS = [
  "password",
  "*.password",
  "connectionString",
  "*.connectionString",
  "req.headers.authorization",
  "req.headers.cookie",
  'req.headers["x-api-key"]',
  "*.contact_email",
  "*.contactEmail",
  "*.contact_name",
  "*.contactName",
  "*.contact_phone",
  "*.contactPhone",
  "*.from_email",
  "*.to_email",
  "*.body",
  "*.tracking_token",
];

export type Logger = pino.Logger;

export function createLogger(level: pino.LevelWithSilent = "info", name = "reachgraph"): Logger {
  return pino({
    name,
    level,
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

/** A PostgreSQL URL with its password replaced, for logs and banners. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "[unparseable url]";
  }
}
