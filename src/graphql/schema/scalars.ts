import { GraphQLError, Kind } from "graphql";
import { isIsoDate, MAX_PERIOD_DAYS, validTimeZone } from "../../analytics/period.js";
import { builder } from "../builder.js";

const badInput = (message: string) => new GraphQLError(message, { extensions: { code: "BAD_USER_INPUT" } });

function stringScalar(name: string, parse: (value: string) => string) {
  return {
    parseValue: (value: unknown) => {
      if (typeof value !== "string") throw badInput(`${name} must be a string`);
      return parse(value);
    },
    parseLiteral: (ast: { kind: string; value?: unknown }) => {
      if (ast.kind !== Kind.STRING || typeof ast.value !== "string")
        throw badInput(`${name} must be a string`);
      return parse(ast.value);
    },
  };
}

builder.scalarType("DateTime", {
  description: "An instant, ISO-8601 in UTC (2026-11-25T09:00:00.000Z).",
  serialize: (d) => (d instanceof Date ? d.toISOString() : String(d)),
  parseValue: (v) => {
    const d = new Date(String(v));
    if (Number.isNaN(d.getTime())) throw badInput("DateTime must be ISO-8601");
    return d;
  },
  parseLiteral: (ast) => {
    const d = ast.kind === Kind.STRING ? new Date(ast.value) : new Date(Number.NaN);
    if (Number.isNaN(d.getTime())) throw badInput("DateTime must be ISO-8601");
    return d;
  },
});

builder.scalarType("Date", {
  description: "A calendar date, YYYY-MM-DD, in the time zone the query asked for.",
  serialize: (d) => String(d),
  ...stringScalar("Date", (v) => {
    if (!isIsoDate(v)) throw badInput(`Date must be YYYY-MM-DD, got "${v.slice(0, 40)}"`);
    return v;
  }),
});

builder.scalarType("Decimal", {
  description: "An exact decimal number as a string (money: 12500.00).",
  serialize: (d) => String(d),
  ...stringScalar("Decimal", (v) => v),
});

builder.scalarType("TimeZone", {
  description: "An IANA time zone name: UTC, Europe/Berlin, America/New_York, Asia/Kolkata.",
  serialize: (d) => String(d),
  ...stringScalar("TimeZone", (v) => {
    const tz = validTimeZone(v);
    if (!tz) throw badInput(`Unknown time zone "${v.slice(0, 60)}": use an IANA name such as Europe/Berlin`);
    return tz;
  }),
});

const PERIOD = /^([1-9]\d{0,3})d$/;
builder.scalarType("Period", {
  description: `A number of days, written \`Nd\` (1d–${MAX_PERIOD_DAYS}d), e.g. 7d, 30d, 90d.`,
  serialize: (n) => `${n}d`,
  parseValue: (value) => parsePeriod(value),
  parseLiteral: (ast) => parsePeriod(ast.kind === Kind.STRING ? ast.value : undefined),
});

function parsePeriod(value: unknown): number {
  const m = typeof value === "string" ? PERIOD.exec(value) : null;
  const days = m ? Number.parseInt(m[1] ?? "", 10) : Number.NaN;
  if (!(days >= 1 && days <= MAX_PERIOD_DAYS))
    throw badInput(`Period must be a number of days such as "30d" (1d–${MAX_PERIOD_DAYS}d)`);
  return days;
}
