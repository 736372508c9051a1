import { z } from "zod";

/**
 * A campaign's send window: the days and hours (in the window's own IANA time zone) when its emails may be claimed.
 * The daily limit counts per calendar day in the same zone, so "today" always means the recipient-facing local day.
 * All calendar arithmetic goes through Intl (ICU time-zone data), so DST changes are handled by the platform.
 */
export const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export const SendWindow = z
  .strictObject({
    timezone: z
      .string()
      .min(1)
      .max(64)
      .refine(isTimeZone, { message: "must be an IANA time zone such as Europe/Berlin" }),
    days: z
      .array(z.enum(WEEKDAYS))
      .min(1)
      .max(7)
      .refine((d) => new Set(d).size === d.length, { message: "days must be unique" }),
    start_hour: z
      .number()
      .int()
      .min(0)
      .max(23)
      .meta({ description: "First local hour of the window (inclusive)." }),
    end_hour: z
      .number()
      .int()
      .min(1)
      .max(24)
      .meta({ description: "Local hour the window closes (exclusive)." }),
  })
  .refine((w) => w.end_hour > w.start_hour, {
    message: "end_hour must be after start_hour",
    path: ["end_hour"],
  })
  .meta({
    id: "SendWindow",
    example: {
      timezone: "Europe/Berlin",
      days: ["mon", "tue", "wed", "thu", "fri"],
      start_hour: 9,
      end_hour: 17,
    },
  });
export type SendWindow = z.infer<typeof SendWindow>;

/** A local calendar date, held as the UTC midnight of the same Y-M-D so that day arithmetic is plain. */
type LocalDate = { y: number; m: number; d: number };

export type LocalClock = {
  date: LocalDate;
  weekday: Weekday;
  hour: number;
  /** `2026-11-25T09:30:00` in the window's zone, for humans. */
  text: string;
};

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(tz, f);
  }
  return f;
}

function wallClock(
  tz: string,
  at: Date,
): { y: number; m: number; d: number; h: number; mi: number; s: number } {
  const parts: Record<string, number> = {};
  for (const p of formatter(tz).formatToParts(at)) {
    if (p.type !== "literal") parts[p.type] = Number(p.value);
  }
  return {
    y: parts.year ?? 0,
    m: parts.month ?? 0,
    d: parts.day ?? 0,
    h: parts.hour ?? 0,
    mi: parts.minute ?? 0,
    s: parts.second ?? 0,
  };
}

const pad = (n: number) => String(n).padStart(2, "0");

function weekdayOf(date: LocalDate): Weekday {
  // getUTCDay: 0 = Sunday.
  const i = new Date(Date.UTC(date.y, date.m - 1, date.d)).getUTCDay();
  return WEEKDAYS[(i + 6) % 7] as Weekday;
}

function addDays(date: LocalDate, days: number): LocalDate {
  const t = new Date(Date.UTC(date.y, date.m - 1, date.d + days));
  return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate() };
}

export function localClock(tz: string, at: Date): LocalClock {
  const w = wallClock(tz, at);
  const date = { y: w.y, m: w.m, d: w.d };
  return {
    date,
    weekday: weekdayOf(date),
    hour: w.h,
    text: `${w.y}-${pad(w.m)}-${pad(w.d)}T${pad(w.h)}:${pad(w.mi)}:${pad(w.s)}`,
  };
}

/**
 * The UTC instant of a local wall-clock time (hour may be 24 = the next midnight). Two fixed-point steps on the
 * zone's offset settle it; a wall time inside a DST gap lands just after the gap.
 */
export function localToUtc(tz: string, date: LocalDate, hour: number): Date {
  const naive = Date.UTC(date.y, date.m - 1, date.d, hour);
  const offsetAt = (t: number) => {
    const w = wallClock(tz, new Date(t));
    return Date.UTC(w.y, w.m - 1, w.d, w.h, w.mi, w.s) - t;
  };
  let guess = naive - offsetAt(naive);
  guess = naive - offsetAt(guess);
  return new Date(guess);
}

export function isWindowOpen(window: SendWindow, now: Date): boolean {
  const local = localClock(window.timezone, now);
  return (
    window.days.includes(local.weekday) && local.hour >= window.start_hour && local.hour < window.end_hour
  );
}

/** [start, end) of the local calendar day containing `now`, as UTC instants: the daily limit's counting period. */
export function localDayBounds(window: SendWindow, now: Date): { start: Date; end: Date } {
  const { date } = localClock(window.timezone, now);
  return {
    start: localToUtc(window.timezone, date, 0),
    end: localToUtc(window.timezone, addDays(date, 1), 0),
  };
}

/**
 * When the window next opens after `now`. With `afterToday` (the daily limit is met, so today is over) the search
 * starts on the next local day. Null only for a window with no days, which validation refuses.
 */
export function nextWindowOpening(
  window: SendWindow,
  now: Date,
  options: { afterToday?: boolean } = {},
): Date | null {
  const today = localClock(window.timezone, now).date;
  for (let offset = options.afterToday ? 1 : 0; offset <= 8; offset++) {
    const date = addDays(today, offset);
    if (!window.days.includes(weekdayOf(date))) continue;
    const opens = localToUtc(window.timezone, date, window.start_hour);
    if (opens.getTime() > now.getTime()) return opens;
  }
  return null;
}
