/** Small JSON helpers for OpenAPI documents: plain-object narrowing and local $ref resolution. */
export type Json = Record<string, unknown>;

export function record(value: unknown): Json | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

/**
 * Follows local $refs (`#/components/…`) to the object they name; siblings of a $ref (OpenAPI 3.1) override the
 * target's keywords. `ref` is the last pointer followed, if any.
 */
export function resolveRef(doc: Json, value: unknown): { schema: Json; ref?: string } {
  let current = record(value) ?? {};
  let ref: string | undefined;
  for (let hops = 0; typeof current.$ref === "string"; hops++) {
    const pointer = current.$ref as string;
    if (hops >= 32) throw new Error(`$ref chain too long at ${pointer}`);
    if (!pointer.startsWith("#/")) throw new Error(`only local $refs are supported: ${pointer}`);
    let target: unknown = doc;
    for (const part of pointer.slice(2).split("/")) {
      target = record(target)?.[part.replaceAll("~1", "/").replaceAll("~0", "~")];
    }
    if (target === undefined) throw new Error(`unresolvable $ref ${pointer}`);
    const { $ref: _ignored, ...siblings } = current;
    ref = pointer;
    current = { ...(record(target) ?? {}), ...siblings };
  }
  return { schema: current, ref };
}
