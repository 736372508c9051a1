import { UnprocessableError } from "../domain/errors.js";

/**
 * Calendar periods for the KPI rollups: whole local days in an IANA time zone. An email counts in the period of the
 * day it was sent in that zone, so a period is `[from 00:00, to + 1 day 00:00)` local time; the SQL turns those
 * local midnights into UTC instants with the zone's rules (DST included).
 */
export type CalendarPeriod = {
  /** First local day, YYYY-MM-DD. */
  from: string;
  /** Last local day (inclusive), YYYY-MM-DD. */
  to: string;
  timezone: string;
};

export type Granularity = "day" | "week" | "month";
export const GRANULARITIES: readonly Granularity[] = ["day", "week", "month"];

/** Longest period a KPI query may span (ten years of days). */
export const MAX_PERIOD_DAYS = 3660;

export type PeriodInput = {
  /** `Nd`: the N local days ending with the day the data is current to (asOf), today included. */
  days?: number | undefined;
  from?: string | undefined;
  to?: string | undefined;
  timezone?: string | undefined;
};

const DAY_MS = 86_400_000;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The zone name as given when it is a valid IANA zone (Intl and PostgreSQL ship the same tz database), else
 * undefined. The caller's spelling is kept: Intl would turn Asia/Kolkata into its older alias Asia/Calcutta.
 */
export function validTimeZone(name: string): string | undefined {
  if (name.length > 64 || !/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(name)) return undefined;
  return dateFormat(name) ? name : undefined;
}

/**
 * A YYYY-MM-DD formatter per time zone (en-CA formats that way), made once: building an Intl.DateTimeFormat costs
 * more than a cached answer. Undefined for a zone Intl does not know. Intl accepts any letter case, so the memo is
 * capped rather than trusted to stay as small as the tz database.
 */
const dateFormats = new Map<string, Intl.DateTimeFormat>();
function dateFormat(timezone: string): Intl.DateTimeFormat | undefined {
  let format = dateFormats.get(timezone);
  if (format) return format;
  try {
    format = new Intl.DateTimeFormat("en-CA", {
      timeZone: timezone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
    });
  } catch {
    return undefined;
  }
  if (dateFormats.size >= 1000) dateFormats.clear();
  dateFormats.set(timezone, format);
  return format;
}

export function isIsoDate(value: string): boolean {
  if (!ISO_DATE.test(value)) return false;
  const d = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === value;
}

/** The local calendar date of an instant in a time zone. */
export function localDate(instant: Date, timezone: string): string {
  const format = dateFormat(timezone);
  if (!format) throw new RangeError(`Invalid time zone: ${timezone}`);
  return format.format(instant);
}

export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS);
}

/**
 * Resolves `period` (N days ending with asOf's local day) or `from`/`to` (inclusive local dates) into a calendar
 * period. Without either, the last 30 days. Throws a 422 for a bad zone, date or range.
 */
export function resolveCalendarPeriod(input: PeriodInput, asOf: Date): CalendarPeriod {
  const zoneName = input.timezone ?? "UTC";
  const timezone = validTimeZone(zoneName);
  if (!timezone)
    throw new UnprocessableError(`Unknown time zone '${zoneName}'.`, [
      { path: "timezone", message: "must be an IANA time zone such as Europe/Berlin or UTC" },
    ]);
  if (input.days !== undefined && (input.from !== undefined || input.to !== undefined))
    throw new UnprocessableError("Give either period or from/to, not both.", [
      { path: "period", message: "not allowed together with from/to" },
    ]);
  let from: string;
  let to: string;
  if (input.from !== undefined || input.to !== undefined) {
    if (input.from === undefined || input.to === undefined)
      throw new UnprocessableError("from and to go together.", [
        { path: input.from === undefined ? "from" : "to", message: "required when the other is given" },
      ]);
    for (const [path, value] of [
      ["from", input.from],
      ["to", input.to],
    ] as const)
      if (!isIsoDate(value))
        throw new UnprocessableError(`${path} is not a date.`, [
          { path, message: "must be a date YYYY-MM-DD" },
        ]);
    from = input.from;
    to = input.to;
  } else {
    const days = input.days ?? 30;
    to = localDate(asOf, timezone);
    from = addDays(to, -(days - 1));
  }
  const span = daysBetween(from, to) + 1;
  if (span < 1)
    throw new UnprocessableError("from is after to.", [{ path: "from", message: "must be on or before to" }]);
  if (span > MAX_PERIOD_DAYS)
    throw new UnprocessableError(`A period spans at most ${MAX_PERIOD_DAYS} days.`, [
      { path: "from", message: `at most ${MAX_PERIOD_DAYS} days before to` },
    ]);
  return { from, to, timezone };
}

/** The start (local date) of each granularity step that overlaps the period, in order. */
export function periodStarts(period: CalendarPeriod, granularity: Granularity): string[] {
  const first = new Date(`${period.from}T00:00:00Z`);
  if (granularity === "week") first.setUTCDate(first.getUTCDate() - ((first.getUTCDay() + 6) % 7));
  if (granularity === "month") first.setUTCDate(1);
  const starts: string[] = [];
  for (const d = first; d.toISOString().slice(0, 10) <= period.to; ) {
    starts.push(d.toISOString().slice(0, 10));
    if (granularity === "day") d.setUTCDate(d.getUTCDate() + 1);
    else if (granularity === "week") d.setUTCDate(d.getUTCDate() + 7);
    else d.setUTCMonth(d.getUTCMonth() + 1);
  }
  return starts;
}
