import { isUtf8 } from "node:buffer";

/**
 * Refuses a JSON body that would be stored other than it was sent: bytes that are not UTF-8 (body-parser would
 * decode them as U+FFFD) and `\ud800`-style escapes of lone surrogates (JSON.parse accepts them, and the string is
 * written to PostgreSQL as U+FFFD). Used as the `verify` hook of every JSON parser (REST and GraphQL); the error's
 * `type` is mapped to a 400 problem in src/http/problem.ts.
 */
export function verifyJsonText(_req: unknown, _res: unknown, buf: Buffer): void {
  if (!isUtf8(buf)) throw bodyError("encoding.invalid-utf8");
  // Only a body with \u escapes can hold a lone surrogate; the rest pay one byte search.
  if (buf.includes("\\u") && !wellFormed(buf.toString("utf8"))) throw bodyError("entity.lone-surrogate");
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

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

function bodyError(type: string): Error {
  return Object.assign(new Error(type), { type, status: 400 });
}
