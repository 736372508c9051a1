import { createHash, type Hash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { createGunzip } from "node:zlib";
import type { Request } from "express";
import type { z } from "zod";
import type { BulkFieldError, BulkItem } from "../domain/bulk/bulk-load.js";
import { HttpError } from "../domain/errors.js";

export const NDJSON_CONTENT_TYPE = "application/x-ndjson";

export type NdjsonLimits = {
  /** Largest line, in bytes after decompression. */
  maxLineBytes: number;
  /** Largest body, in bytes after decompression (a gzip bomb stops here). */
  maxBytes: number;
};

export const DEFAULT_NDJSON_LIMITS: NdjsonLimits = { maxLineBytes: 64 * 1024, maxBytes: 2 * 1024 ** 3 };

/**
 * Checks what can be checked before a byte of the body is read: the media type and the content coding, each a 415
 * before any transaction starts. A body without a line is found by reading it (400 empty-body).
 */
export function assertNdjsonRequest(req: Request): void {
  if (!req.is(NDJSON_CONTENT_TYPE)) {
    throw new HttpError(
      415,
      "unsupported-media-type",
      "Unsupported Media Type",
      `Send the body as ${NDJSON_CONTENT_TYPE}: one JSON object per line.`,
    );
  }
  const coding = (req.get("content-encoding") ?? "identity").trim().toLowerCase();
  if (coding !== "identity" && coding !== "gzip") {
    throw new HttpError(
      415,
      "unsupported-media-type",
      "Unsupported Media Type",
      `Unsupported Content-Encoding ${JSON.stringify(coding)}; send gzip or no encoding.`,
    );
  }
}

function emptyBody(): HttpError {
  return new HttpError(
    400,
    "empty-body",
    "Bad Request",
    "The body holds no line; send at least one JSON object.",
  );
}

/**
 * A streamed NDJSON request body. `items(schema)` yields one BulkItem per non-blank line, in order, as the body
 * arrives — decompressed, split, JSON-parsed and validated line by line, never buffered whole. Reading honours
 * back-pressure: the socket is read only as fast as the consumer (COPY) takes lines. `fingerprint()` is the
 * SHA-256 of the request's method, path and raw bytes, known once the body has been read (for Idempotency-Key).
 */
export class NdjsonBody {
  private readonly hash: Hash;
  private digest: string | null = null;

  constructor(
    private readonly req: Request,
    private readonly limits: NdjsonLimits = DEFAULT_NDJSON_LIMITS,
  ) {
    this.hash = createHash("sha256").update(`${req.method} ${req.originalUrl}\n`);
  }

  fingerprint(): string {
    if (this.digest === null) throw new Error("the body's fingerprint is known only once it was read");
    return this.digest;
  }

  /**
   * `fast`, when given, is tried first: a validator for the common valid line that must agree with `schema` wherever
   * it accepts, and answers null to hand anything else to the schema.
   */
  async *items<T>(schema: z.ZodType<T>, fast?: (value: unknown) => T | null): AsyncGenerator<BulkItem<T>> {
    for await (const { line, text } of this.lines()) {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        yield { line, errors: [{ path: "", message: "not valid JSON" }] };
        continue;
      }
      const quick = fast?.(value) ?? null;
      if (quick !== null) {
        yield { line, value: quick };
        continue;
      }
      const parsed = schema.safeParse(value);
      if (parsed.success) yield { line, value: parsed.data };
      else yield { line, errors: lineErrors(parsed.error) };
    }
  }

  /** Non-blank lines with their 1-based line numbers (blank lines count, so numbers match an editor's). */
  async *lines(): AsyncGenerator<{ line: number; text: string }> {
    const { maxLineBytes, maxBytes } = this.limits;
    const hash = this.hash;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb: TransformCallback) {
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    const gzip = (this.req.get("content-encoding") ?? "").trim().toLowerCase() === "gzip";
    const decoded = gzip ? createGunzip() : new Transform({ transform: (c, _e, cb) => cb(null, c) });
    // pipe(), not pipeline(): pipeline would destroy the request (and the socket with it) on a gzip error or an
    // over-long line, and the client would get a reset instead of its 4xx problem.
    const req = this.req;
    const fail = (err: Error) => decoded.destroy(err);
    req.on("error", fail);
    tap.on("error", fail);
    req.pipe(tap).pipe(decoded);
    const decoder = new TextDecoder("utf-8", { fatal: true });
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let total = 0;
    let line = 0;
    let nonBlank = 0;
    let completed = false;
    const tooLong = () =>
      new HttpError(
        413,
        "line-too-large",
        "Content Too Large",
        `Line ${line + 1} is longer than ${maxLineBytes} bytes, the most one line may hold.`,
        { line: line + 1, max_line_bytes: maxLineBytes },
      );
    const take = (bytes: Buffer): { line: number; text: string } | null => {
      line++;
      let text: string;
      try {
        text = decoder.decode(bytes);
      } catch {
        text = "\uFFFD"; // reported as "not valid JSON" below, with its line number
      }
      if (text.endsWith("\r")) text = text.slice(0, -1);
      if (text.trim() === "") return null;
      nonBlank++;
      return { line, text };
    };
    try {
      for await (const chunk of decoded as AsyncIterable<Buffer>) {
        total += chunk.length;
        if (total > maxBytes) {
          throw new HttpError(
            413,
            "payload-too-large",
            "Content Too Large",
            `The body is larger than ${maxBytes} bytes after decompression; split the load.`,
            { max_bytes: maxBytes },
          );
        }
        let start = 0;
        for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
          const piece = chunk.subarray(start, nl);
          start = nl + 1;
          if (pendingBytes + piece.length > maxLineBytes) throw tooLong();
          const bytes = pending.length ? Buffer.concat([...pending, piece]) : piece;
          pending = [];
          pendingBytes = 0;
          const next = take(bytes);
          if (next) yield next;
        }
        if (start < chunk.length) {
          const rest = chunk.subarray(start);
          if (pendingBytes + rest.length > maxLineBytes) throw tooLong();
          pending.push(rest);
          pendingBytes += rest.length;
        }
      }
      if (pendingBytes > 0) {
        const next = take(Buffer.concat(pending));
        if (next) yield next;
      }
      completed = true;
    } catch (err) {
      if (err instanceof HttpError) throw err;
      if (isZlibError(err)) {
        throw new HttpError(400, "malformed-gzip", "Bad Request", "The body is not valid gzip.");
      }
      throw new HttpError(
        400,
        "request-aborted",
        "Bad Request",
        "The request body could not be read to its end.",
      );
    } finally {
      req.off("error", fail);
      // Stopped early (a 4xx here, or the consumer failed): drain what is left, so the answer goes out on a
      // healthy connection.
      if (!completed) {
        req.unpipe(tap);
        tap.unpipe(decoded);
        req.resume();
      }
    }
    if (nonBlank === 0) throw emptyBody();
    this.digest = hash.digest("hex");
  }
}

function isZlibError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("Z_");
}

/** Zod issues as JSON Pointers into the line's object. */
function lineErrors(error: z.ZodError): BulkFieldError[] {
  return error.issues.map((issue) => ({
    path: issue.path.length
      ? `/${issue.path.map((p) => String(p).replaceAll("~", "~0").replaceAll("/", "~1")).join("/")}`
      : "",
    message: issue.message,
  }));
}
