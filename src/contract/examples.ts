import { STATUS_CODES } from "node:http";
import { PROBLEM_BASE } from "../http/problem.js";
import { type Json, record, resolveRef } from "./json-ref.js";

/**
 * Examples for the published OpenAPI document, generated from the schemas (which come from the zod contracts):
 * a schema's own `example`/`default`/`enum` first, else a value that satisfies its type, format, pattern and
 * bounds. test/contract/bundle.test.ts validates every generated example against its schema.
 */
const FORMAT_EXAMPLES: Record<string, string> = {
  uuid: "3fa85f64-5717-4562-b3fc-2c963f66afa6",
  "date-time": "2026-12-02T09:30:00.000Z",
  date: "2026-12-02",
  email: "jane@acme.example",
  uri: "https://www.acme.example/",
  hostname: "acme.example",
};

/** Tried in order against a `pattern` the format does not settle. */
const PATTERN_CANDIDATES = [
  "website_analysis",
  "30d",
  "42",
  "acme.example",
  "jane@acme.example",
  "DE",
  "EUR",
  "12.50",
  "a".repeat(64),
  "2026-12-02",
  "2026-12-02T09:30:00.000Z",
  "3fa85f64-5717-4562-b3fc-2c963f66afa6",
  "example",
];

function firstType(schema: Json): string | undefined {
  if (typeof schema.type === "string") return schema.type;
  if (Array.isArray(schema.type)) return schema.type.map(String).find((t) => t !== "null") ?? "null";
  return undefined;
}

function stringExample(schema: Json): string {
  const min = typeof schema.minLength === "number" ? schema.minLength : 0;
  const max = typeof schema.maxLength === "number" ? schema.maxLength : Number.POSITIVE_INFINITY;
  const fits = (s: string) => s.length >= min && s.length <= max;
  const pattern = typeof schema.pattern === "string" ? new RegExp(schema.pattern, "u") : undefined;
  const format = typeof schema.format === "string" ? FORMAT_EXAMPLES[schema.format] : undefined;
  if (format && fits(format) && (!pattern || pattern.test(format))) return format;
  if (pattern) return PATTERN_CANDIDATES.find((c) => fits(c) && pattern.test(c)) ?? "example";
  const base = "example";
  return base.length > max ? base.slice(0, max) : base.padEnd(min, "x");
}

function numberExample(schema: Json, integer: boolean): number {
  const low =
    typeof schema.exclusiveMinimum === "number"
      ? schema.exclusiveMinimum + (integer ? 1 : 0.5)
      : typeof schema.minimum === "number"
        ? schema.minimum
        : undefined;
  const high =
    typeof schema.exclusiveMaximum === "number"
      ? schema.exclusiveMaximum - (integer ? 1 : 0.5)
      : typeof schema.maximum === "number"
        ? schema.maximum
        : undefined;
  const preferred = 1;
  if ((low === undefined || preferred >= low) && (high === undefined || preferred <= high)) return preferred;
  // A number with both bounds and 1 outside them (e.g. (0, 0.2]): the middle of the bounds is inside, where a
  // fixed step from an exclusive bound may overshoot the other one.
  const lowBound = schema.exclusiveMinimum ?? schema.minimum;
  const highBound = schema.exclusiveMaximum ?? schema.maximum;
  if (!integer && typeof lowBound === "number" && typeof highBound === "number")
    return (lowBound + highBound) / 2;
  return low ?? high ?? preferred;
}

/** A value valid for `schema` (resolved against `doc`). */
export function exampleFor(doc: Json, raw: unknown, depth = 0): unknown {
  const schema = resolveRef(doc, raw).schema;
  if (schema.example !== undefined) return schema.example;
  if (Array.isArray(schema.examples) && schema.examples.length > 0) return schema.examples[0];
  if (schema.default !== undefined) return schema.default;
  if ("const" in schema) return schema.const;
  if (Array.isArray(schema.enum)) return schema.enum.find((v) => v !== null) ?? schema.enum[0];
  const union = Array.isArray(schema.anyOf)
    ? schema.anyOf
    : Array.isArray(schema.oneOf)
      ? schema.oneOf
      : undefined;
  if (union) {
    const branch = union.find((b) => resolveRef(doc, b).schema.type !== "null") ?? union[0];
    return exampleFor(doc, branch, depth + 1);
  }
  if (Array.isArray(schema.allOf)) {
    const merged: Json = {};
    for (const part of schema.allOf) {
      const value = record(exampleFor(doc, part, depth + 1));
      if (value) Object.assign(merged, value);
    }
    return merged;
  }
  const type = firstType(schema) ?? (record(schema.properties) ? "object" : undefined);
  if (depth > 12) return type === "array" ? [] : type === "object" ? {} : null;
  switch (type) {
    case "object": {
      const out: Json = {};
      for (const [name, property] of Object.entries(record(schema.properties) ?? {})) {
        out[name] = exampleFor(doc, property, depth + 1);
      }
      return out;
    }
    case "array": {
      const max = typeof schema.maxItems === "number" ? schema.maxItems : 1;
      const count = Math.min(Math.max(1, typeof schema.minItems === "number" ? schema.minItems : 1), max);
      return Array.from({ length: count }, () => exampleFor(doc, schema.items, depth + 1));
    }
    case "string":
      return stringExample(schema);
    case "integer":
      return numberExample(schema, true);
    case "number":
      return numberExample(schema, false);
    case "boolean":
      return true;
    case "null":
      return null;
    default:
      return {};
  }
}

/** The problem `type` an error status most often carries (src/http/problem.ts, src/domain/errors.ts). */
const PROBLEM_CODES: Record<string, string> = {
  "400": "malformed-json",
  "401": "unauthorized",
  "403": "insufficient-scope",
  "404": "not-found",
  "405": "method-not-allowed",
  "409": "conflict",
  "410": "gone",
  "413": "payload-too-large",
  "415": "unsupported-media-type",
  "422": "validation-failed",
  "429": "rate-limited",
  "500": "internal",
  "503": "database-unavailable",
};

/** Header parameters whose schema says too little for a useful example. */
const PARAMETER_EXAMPLES: Record<string, string> = {
  "Idempotency-Key": "8e0f6f3c-0d5a-4a55-9a57-3c1b2f1d9e42",
  "X-Correlation-Id": "scrape-run-2026-12-02",
};

function hasExample(target: Json): boolean {
  return target.example !== undefined || record(target.examples) !== undefined;
}

/**
 * A copy of the document in which every parameter, request body and response body without an example gets one.
 * Problem examples carry their status and the usual problem type for it.
 */
export function withExamples<T>(document: T): T {
  const doc = structuredClone(document) as unknown as Json;
  for (const item of Object.values(record(doc.paths) ?? {})) {
    for (const op of Object.values(record(item) ?? {})) {
      const operation = record(op);
      if (!operation) continue;
      for (const raw of Array.isArray(operation.parameters) ? operation.parameters : []) {
        const parameter = record(raw);
        if (parameter && !hasExample(parameter) && parameter.schema !== undefined) {
          parameter.example = PARAMETER_EXAMPLES[String(parameter.name)] ?? exampleFor(doc, parameter.schema);
        }
      }
      for (const media of Object.values(record(record(operation.requestBody)?.content) ?? {})) {
        const m = record(media);
        if (m && !hasExample(m) && m.schema !== undefined) m.example = exampleFor(doc, m.schema);
      }
      for (const [status, response] of Object.entries(record(operation.responses) ?? {})) {
        for (const [type, media] of Object.entries(record(record(response)?.content) ?? {})) {
          const m = record(media);
          if (!m || hasExample(m) || m.schema === undefined) continue;
          const example = exampleFor(doc, m.schema);
          const code = PROBLEM_CODES[status];
          m.example =
            type === "application/problem+json" && record(example) && code
              ? {
                  type: `${PROBLEM_BASE}${code}`,
                  title: STATUS_CODES[Number(status)] ?? "Error",
                  status: Number(status),
                  detail: "What went wrong, for a person to read.",
                  request_id: "3fa85f64-5717-4562-b3fc-2c963f66afa6",
                }
              : example;
        }
      }
    }
  }
  return doc as unknown as T;
}
