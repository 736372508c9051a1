import { pino } from "pino";

/**
 * Fields that hold a person's data (or a stand-in for it), censored wherever they appear as a property of the logged
 * object or of any object one level down (`{ lead: { contact_email } }`). pino's redaction works on paths, with no
 * deep wildcard, so deeper nesting is not covered: log ids and counts, not rows. Ciphertexts of the contact fields
 * are censored with them, and email/domain tokens are pseudonymous personal data too: neither is ever needed in a
 * log line — a lead id says which row.
 */
export const PII_FIELDS = [
  "contact_email",
  "contactEmail",
  "contact_name",
  "contactName",
  "contact_phone",
  "contactPhone",
  "email",
  "phone",
  "from_email",
  "fromEmail",
  "to_email",
  "toEmail",
  "subject",
  "body",
  "tracking_token",
  "trackingToken",
  "email_token",
  "emailToken",
  "domain_token",
  "domainToken",
] as const;

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
  ...PII_FIELDS.flatMap((field) => [field, `*.${field}`]),
];

export type Logger = pino.Logger;

/** `destination` defaults to stdout; tests pass an in-memory stream. */
export function createLogger(
  level: pino.LevelWithSilent = "info",
  name = "reachgraph",
  destination?: pino.DestinationStream,
): Logger {
  return pino(
    {
      name,
      level,
      redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
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
