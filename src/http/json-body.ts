import { isUtf8 } from "node:buffer";

/**
 * Refuses a JSON body that would be stored other than it was sent: bytes that are not UTF-8 (body-parser would
 * decode them as U+FFFD) and `\ud800`-style escapes of lone surrogates (JSON.parse accepts them, and the string is
 * written to PostgreSQL as U+FFFD). Used as the `verify` hook of every JSON parser (REST and GraphQL); the error's
 * `type` is mapped to a problem in src/http/problem.ts.
 *
 * JSON exchanged between systems is UTF-8 (RFC 8259 §8.1): body-parser would also decode a `charset=utf-16`/`utf-32`
 * body, whose bytes this check cannot judge (a UTF-16 lone surrogate would pass), so those are a 415.
 */
export function verifyJsonText(_req: unknown, _res: unknown, buf: Buffer, encoding?: string | null): void {
  if (encoding && encoding !== "utf-8") throw bodyError("charset.unsupported", 415);
  if (!isUtf8(buf)) throw bodyError("encoding.invalid-utf8", 400);
  // Only a body with a \u escape of a surrogate can hold a lone one; the rest pay one byte search (a client that
  // escapes all non-ASCII, as Python's json.dumps does, pays a regex scan too).
  if (!buf.includes("\\u")) return;
  const text = buf.toString("utf8");
  if (SURROGATE_ESCAPE.test(text) && !wellFormed(text)) throw bodyError("entity.lone-surrogate", 400);
}

const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F][0-9a-fA-F]{2}/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Parses once more, only for a body with surrogate escapes: a pair of them is fine, a lone one is not. */
function wellFormed(text: string): boolean {
  let ok = true;
  try {
    JSON.parse(text, (key, value) => {
      if (LONE_SURROGATE.test(key) || (typeof value === "string" && LONE_SURROGATE.test(value))) ok = false;
      return value;
    });
  } catch {
    return true; // not JSON at all: the parser itself answers that
  }
  return ok;
}

function bodyError(type: string, status: number): Error {
  return Object.assign(new Error(type), { type, status });
}
