import { once } from "node:events";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";

/** One value of a row in PostgreSQL's COPY text format: `\N` for null, backslash escapes for the separators. */
export function copyField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return "\\N";
  if (typeof value === "number") return String(value);
  // Only these four need escaping in text format (tab separates columns, newline rows, backslash escapes).
  return /[\\\t\n\r]/.test(value)
    ? value.replace(/[\\\t\n\r]/g, (c) =>
        c === "\\" ? "\\\\" : c === "\t" ? "\\t" : c === "\n" ? "\\n" : "\\r",
      )
    : value;
}

/** A row in COPY text format, newline included. */
export function copyLine(values: readonly (string | number | null | undefined)[]): string {
  let line = "";
  for (let i = 0; i < values.length; i++) line += (i === 0 ? "" : "\t") + copyField(values[i]);
  return `${line}\n`;
}

/**
 * Streams already-encoded COPY text into `COPY <target> FROM STDIN` on the client (inside the caller's transaction)
 * and resolves with the number of rows PostgreSQL stored. An async source (a request body) is pulled as the stream
 * drains, so nothing of it waits in memory beyond the stream's buffer. Writes honour the stream's back-pressure, so a large chunk
 * never piles up in memory twice.
 */
export async function copyText(
  client: pg.ClientBase,
  copySql: string,
  text: Iterable<string> | AsyncIterable<string>,
): Promise<number> {
  const stream = client.query(copyFrom(copySql));
  const done = new Promise<void>((resolve, reject) => {
    stream.on("finish", resolve);
    stream.on("error", reject);
    // After destroy() PostgreSQL's answer to the CopyFail settles it: an error, or only a close.
    stream.on("close", resolve);
  });
  // Observed below; without this an error between two writes would count as an unhandled rejection.
  done.catch(() => undefined);
  try {
    for await (const piece of text) {
      if (!stream.write(piece)) await Promise.race([once(stream, "drain"), done]);
    }
    stream.end();
    await done;
  } catch (err) {
    stream.destroy();
    await done.catch(() => undefined);
    throw err;
  }
  return stream.rowCount;
}
