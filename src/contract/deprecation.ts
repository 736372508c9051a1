/**
 * The deprecation policy (spec §7), shared by the REST and GraphQL checks: something deprecated may be removed
 * only by a contract release at least 90 days after its deprecation date, and only once the removal date it
 * announced has passed.
 *
 * How the dates are written:
 * - REST: a deprecated operation carries `deprecated: true`, `x-deprecated-at` (ISO 8601, when the notice was
 *   given; the `Deprecation` header) and `x-sunset` (ISO 8601, when it stops working; the `Sunset` header). It may be
 *   removed from the contract from `x-sunset` on.
 * - GraphQL: the `@deprecated` reason names both days, e.g.
 *   `"Use campaign.performance. Deprecated 2026-12-02; removal after 2027-03-02."` It may be removed from the day
 *   after the removal date on (00:00 UTC).
 */
export const DEPRECATION_PERIOD_DAYS = 90;
const DAY_MS = 86_400_000;

export type DeprecationDates = {
  /** When the deprecation was announced. */
  deprecatedAt: Date;
  /** The removal date it announced (x-sunset; the day a GraphQL reason names): at least 90 days after. */
  removalDate: Date;
  /** The first instant at which removal is allowed (x-sunset; the day after the GraphQL day). */
  removableFrom: Date;
};

const DATE = String.raw`(\d{4}-\d{2}-\d{2})`;
const DEPRECATED_ON = new RegExp(String.raw`\bdeprecated\s+(?:on\s+|since\s+)?${DATE}\b`, "i");
const REMOVAL_AFTER = new RegExp(String.raw`\bremoval\s+after\s+${DATE}\b`, "i");

/** A `YYYY-MM-DD` day as 00:00 UTC, or null when it is no real calendar day (2027-02-30). */
export function parseDay(day: string): Date | null {
  const date = new Date(`${day}T00:00:00Z`);
  return Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== day ? null : date;
}

export function formatDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

export function addDays(date: Date, days: number): Date {
  return new Date(date.getTime() + days * DAY_MS);
}

/** The earliest removal the policy allows: the announced date, but never sooner than 90 days after the notice. */
export function earliestRemoval(dates: DeprecationDates): Date {
  const policy = addDays(dates.deprecatedAt, DEPRECATION_PERIOD_DAYS);
  return new Date(Math.max(dates.removableFrom.getTime(), policy.getTime()));
}

/** Why the dates break the policy, or null when they keep it. */
export function policyViolation(dates: DeprecationDates): string | null {
  const policy = addDays(dates.deprecatedAt, DEPRECATION_PERIOD_DAYS);
  if (dates.removalDate >= policy) return null;
  const days = Math.floor((dates.removalDate.getTime() - dates.deprecatedAt.getTime()) / DAY_MS);
  return `removal ${days} days after the deprecation (${formatDay(dates.deprecatedAt)}); the policy needs at least ${DEPRECATION_PERIOD_DAYS}`;
}

/**
 * The dates in a GraphQL `@deprecated` reason, or why they cannot be read. "Removal after D" allows removal from
 * D + 1 day, 00:00 UTC.
 */
export function parseGraphqlDeprecation(
  reason: string | null | undefined,
): DeprecationDates | { error: string } {
  const text = reason ?? "";
  const deprecated = DEPRECATED_ON.exec(text)?.[1];
  const removal = REMOVAL_AFTER.exec(text)?.[1];
  if (!deprecated || !removal) {
    return {
      error: `its @deprecated reason must name both days, as "Deprecated YYYY-MM-DD; removal after YYYY-MM-DD" (reason: ${JSON.stringify(text)})`,
    };
  }
  const deprecatedAt = parseDay(deprecated);
  const removalDay = parseDay(removal);
  if (!deprecatedAt || !removalDay)
    return { error: `its @deprecated reason names a day that does not exist` };
  return { deprecatedAt, removalDate: removalDay, removableFrom: addDays(removalDay, 1) };
}

/** The dates of a deprecated OpenAPI operation (`x-deprecated-at`, `x-sunset`), or why they cannot be read. */
export function parseOpenApiDeprecation(
  operation: Record<string, unknown>,
): DeprecationDates | { error: string } {
  const at = operation["x-deprecated-at"];
  const sunset = operation["x-sunset"];
  if (typeof at !== "string" || typeof sunset !== "string") {
    return { error: "a deprecated operation must carry x-deprecated-at and x-sunset (ISO 8601)" };
  }
  const deprecatedAt = new Date(at);
  const removableFrom = new Date(sunset);
  if (Number.isNaN(deprecatedAt.getTime()) || Number.isNaN(removableFrom.getTime())) {
    return { error: `x-deprecated-at (${at}) or x-sunset (${sunset}) is not an ISO 8601 date` };
  }
  return { deprecatedAt, removalDate: removableFrom, removableFrom };
}

/**
 * The verdict on removing something the baseline had: allowed (and reported as non-breaking) only when the baseline
 * marked it deprecated with dates that put `now` past the earliest removal.
 */
export function removalVerdict(
  dates: DeprecationDates | { error: string } | null,
  now: Date,
): { allowed: boolean; note: string } {
  if (dates === null) return { allowed: false, note: "it was not deprecated" };
  if ("error" in dates) return { allowed: false, note: `it was deprecated, but ${dates.error}` };
  const from = earliestRemoval(dates);
  const since = `deprecated ${formatDay(dates.deprecatedAt)}`;
  if (now >= from) return { allowed: true, note: `${since}, removable from ${from.toISOString()}` };
  return { allowed: false, note: `${since}; it may be removed from ${from.toISOString()} on, not before` };
}
