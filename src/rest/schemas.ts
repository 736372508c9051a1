import { z } from "zod";
import { UnprocessableError } from "../domain/errors.js";
import { requestNow } from "./request-clock.js";

/** Contract building blocks shared by every route file. */
export const Uuid = z.uuid();
/** The text form of TimestampInput; its `_zod.pattern` is the exact check (the bulk fast path reuses it). */
export const IsoDateTimeWithOffset = z.iso.datetime({ offset: true });
/** ISO-8601 with an explicit offset on input (`2026-11-25T09:00:00Z`); read as a Date. */
export const TimestampInput = IsoDateTimeWithOffset.transform((s) => new Date(s)).refine(
  inStorableRange,
  "must be between years 1 and 9999 (UTC)",
);

/** Clock skew tolerated between a client and this API before a time counts as "in the future". */
export const FUTURE_SKEW_MS = 5 * 60 * 1000;

/**
 * When something happened (consent given, a message sent, a model call made): never in the future of the request
 * clock (src/rest/request-clock.ts, entered by the route wrapper around validation), beyond FUTURE_SKEW_MS of clock
 * skew. Consent in the future is not consent. Times that may lie ahead (a meeting's `scheduled_for`) use
 * TimestampInput. `description` says what the field is; the rule is appended for the OpenAPI document.
 */
export function occurredAtInput(description: string) {
  return TimestampInput.refine(
    (d) => d.getTime() <= requestNow().getTime() + FUTURE_SKEW_MS,
    "must not be in the future",
  ).meta({
    description: `${description} Must not be in the future: at most ${FUTURE_SKEW_MS / 60_000} minutes of clock skew are accepted (422 otherwise).`,
  });
}

/** PostgreSQL's TIMESTAMP refuses year 0 and would accept dates no client means; keep to years 1–9999. */
export function inStorableRange(d: Date): boolean {
  const year = d.getUTCFullYear();
  return !Number.isNaN(d.getTime()) && year >= 1 && year <= 9999;
}
/** ISO-8601 UTC on output. */
export const Timestamp = z.iso.datetime().meta({ example: "2026-11-25T09:00:00.000Z" });
export const NullableTimestamp = Timestamp.nullable();
/**
 * An http(s) URL, stored in its WHATWG-normalised form (`new URL(u).href`): non-ASCII and spaces percent-encoded,
 * so it is a valid RFC 3986 URI for the event schemas and a legal Location header for click redirects.
 */
export const HttpUrl = z
  .url({ protocol: /^https?$/, error: "must be an http(s) URL" })
  .max(2048)
  .transform((u) => new URL(u).href);
export const ModelName = z.string().trim().min(1).max(50);
/** Arbitrary JSON object documents (qa reports, lighthouse reports…). */
export const JsonObject = z.record(z.string(), z.unknown());

export const IdParams = z.strictObject({ id: Uuid });
export const LeadIdParams = z.strictObject({ lead_id: Uuid });

export const PageQueryShape = {
  cursor: z.string().max(500).optional().meta({ description: "Opaque cursor from `page.next_cursor`." }),
  limit: z.coerce.number().int().min(1).max(200).default(50),
};

export function Page<T extends z.ZodType>(item: T) {
  return z.object({
    data: z.array(item),
    page: z.object({ next_cursor: z.string().nullable(), limit: z.number().int() }),
  });
}

/** Keyset cursors: the (timestamp, id) of the last row, opaque to clients. */
export type Cursor = { at: Date; id: string };

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.at.toISOString(), c.id])).toString("base64url");
}

export function decodeCursor(raw: string | undefined): Cursor | null {
  if (raw === undefined) return null;
  try {
    const [at, id] = JSON.parse(Buffer.from(raw, "base64url").toString("utf8")) as [unknown, unknown];
    const date = new Date(String(at));
    if (typeof at !== "string" || !inStorableRange(date) || !Uuid.safeParse(id).success) throw new Error();
    return { at: date, id: String(id) };
  } catch {
    throw new UnprocessableError("The cursor is not one this API issued.", [
      { location: "query", path: "/cursor", message: "invalid cursor" },
    ]);
  }
}

/** `rows` were fetched with LIMIT limit + 1: the extra row only says there is a next page. */
export function toPage<Row, Item>(
  rows: Row[],
  limit: number,
  cursorOf: (row: Row) => Cursor,
  toItem: (row: Row) => Item,
): { data: Item[]; page: { next_cursor: string | null; limit: number } } {
  const pageRows = rows.slice(0, limit);
  const last = pageRows.at(-1);
  return {
    data: pageRows.map(toItem),
    page: { next_cursor: rows.length > limit && last ? encodeCursor(cursorOf(last)) : null, limit },
  };
}

export function iso(d: Date): string;
export function iso(d: Date | null): string | null;
export function iso(d: Date | null): string | null {
  return d ? d.toISOString() : null;
}

/** `?atomic=true|false` of the bulk loads. */
export const BulkLoadQueryShape = {
  atomic: z
    .enum(["true", "false"])
    .default("false")
    .transform((v) => v === "true")
    .meta({
      description:
        "`true`: any refused line refuses the whole load (422 `bulk-load-refused` listing the line errors; nothing " +
        "is written). `false` (default): refused lines are reported and every other line is stored.",
    }),
};

export const BulkLineError = z
  .object({
    line: z.number().int().meta({ description: "1-based line number of the body (blank lines counted)." }),
    path: z.string().meta({ description: "JSON Pointer into that line's object; empty for the whole line." }),
    message: z.string(),
  })
  .catchall(z.unknown())
  .meta({ id: "BulkLineError" });

export const BulkLoadReportShape = {
  load_id: Uuid.meta({ description: "The load's id, named in its audit entry and events." }),
  accepted: z.number().int().meta({ description: "Lines stored." }),
  rejected: z.number().int().meta({ description: "Lines refused." }),
  errors: z.array(BulkLineError).meta({ description: "The first 1000 line errors, by line." }),
  errors_total: z.number().int().meta({ description: "How many line errors there were in all." }),
  errors_truncated: z.boolean(),
};

export const BULK_LOAD_DESCRIPTION =
  "The body is `application/x-ndjson` — one JSON object per line, each validated like one item of the batch " +
  "endpoint — and may be sent with `Content-Encoding: gzip`. It is streamed: read, validated and loaded with " +
  "PostgreSQL `COPY` as it arrives, never held whole in memory, so a body of hundreds of MB is fine. A line may " +
  "hold at most 64 KiB and the decompressed body at most 2 GiB (413). The whole load is one transaction: it " +
  "commits when the body has been read, so a dropped connection or a failure writes nothing. The answer (200) " +
  "counts stored and refused lines and lists the first 1000 line errors. Idempotency-Key is honoured: the key " +
  "is claimed once the body was read, and a replay answers the first load's response.";
