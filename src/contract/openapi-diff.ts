import type { ChangeLevel, ContractChange } from "./changes.js";
import {
  addDays,
  DEPRECATION_PERIOD_DAYS,
  type DeprecationDates,
  formatDay,
  parseOpenApiDeprecation,
  policyViolation,
  removalVerdict,
} from "./deprecation.js";
import { type Json, record, resolveRef } from "./json-ref.js";

/**
 * Breaking-change rules over two OpenAPI 3.1 documents (the released baseline and the current one), with $refs
 * resolved. openapi-diff (0.24) refuses OpenAPI 3.1, so this is our own, small rule set; each rule is a `report`
 * call below, and every rule that reports a breaking change has a test in test/contract/openapi-diff.test.ts.
 *
 * Direction decides what a schema change means. A request schema must accept everything it accepted before
 * (narrowing it is breaking, widening it is not); a response schema must produce nothing its clients were not
 * promised (widening it is breaking or dangerous, narrowing it is not).
 */
type Direction = "request" | "response";
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;

export type OpenApiDiffOptions = {
  /** The check's clock: deprecated operations whose sunset has passed may be removed. */
  now: Date;
  /**
   * When the baseline was released (contracts/released.json). A newly deprecated operation must not be dated
   * before it, and a baseline operation deprecated without dates counts as deprecated on that day.
   */
  baselineReleasedAt: Date;
};

function entries(value: unknown): [string, unknown][] {
  return Object.entries(record(value) ?? {});
}

type Operation = { path: string; method: string; op: Json };

/** `GET /api/v2/leads/{}`: path parameters are matched by position, so renaming one changes nothing for clients. */
function operationKey(method: string, path: string): string {
  return `${method.toUpperCase()} ${path.replace(/\{[^}]*\}/g, "{}")}`;
}

function operations(doc: Json): Map<string, Operation> {
  const out = new Map<string, Operation>();
  for (const [path, item] of entries(doc.paths)) {
    for (const method of METHODS) {
      const op = record(record(item)?.[method]);
      if (op) out.set(operationKey(method, path), { path, method, op });
    }
  }
  return out;
}

class Differ {
  readonly changes: ContractChange[] = [];
  /** Component pairs already compared in a direction: shared schemas are reported once, under their own name. */
  private readonly compared = new Set<string>();

  constructor(
    private readonly base: Json,
    private readonly current: Json,
    private readonly options: OpenApiDiffOptions,
  ) {}

  report(level: ChangeLevel, location: string, message: string): void {
    this.changes.push({ api: "REST", level, location, message });
  }

  run(): ContractChange[] {
    const baseOps = operations(this.base);
    const currentOps = operations(this.current);
    for (const [key, before] of baseOps) {
      const after = currentOps.get(key);
      const where = `${before.method.toUpperCase()} ${before.path}`;
      if (after) this.operation(before, after, `${after.method.toUpperCase()} ${after.path}`);
      else this.removedOperation(before, where);
    }
    for (const [key, after] of currentOps) {
      if (!baseOps.has(key))
        this.report("non-breaking", `${after.method.toUpperCase()} ${after.path}`, "added");
    }
    for (const [key, after] of currentOps) this.deprecationPolicy(baseOps.get(key), after);
    return this.changes;
  }

  /** The baseline operation's deprecation dates; one deprecated without dates counts from the baseline's release. */
  private baselineDeprecation(op: Json): DeprecationDates | { error: string } | null {
    if (op.deprecated !== true) return null;
    if (op["x-deprecated-at"] === undefined && op["x-sunset"] === undefined) {
      const deprecatedAt = this.options.baselineReleasedAt;
      const sunset = addDays(deprecatedAt, DEPRECATION_PERIOD_DAYS);
      return { deprecatedAt, removalDate: sunset, removableFrom: sunset };
    }
    return parseOpenApiDeprecation(op);
  }

  private removedOperation(before: Operation, where: string): void {
    const verdict = removalVerdict(this.baselineDeprecation(before.op), this.options.now);
    if (verdict.allowed) this.report("non-breaking", where, `removed after its sunset (${verdict.note})`);
    else this.report("breaking", where, `removed (${verdict.note})`);
  }

  /** Every deprecated operation carries its dates, 90 days apart, never back-dated, never brought forward. */
  private deprecationPolicy(before: Operation | undefined, after: Operation): void {
    const where = `${after.method.toUpperCase()} ${after.path}`;
    const wasDeprecated = before?.op.deprecated === true;
    if (after.op.deprecated !== true) {
      if (wasDeprecated) this.report("non-breaking", where, "no longer deprecated");
      return;
    }
    const dates = parseOpenApiDeprecation(after.op);
    if ("error" in dates) {
      this.report("breaking", where, `deprecated, but ${dates.error}`);
      return;
    }
    const violation = policyViolation(dates);
    if (violation) this.report("breaking", where, `deprecated with a sunset too soon: ${violation}`);
    if (!wasDeprecated) {
      if (dates.deprecatedAt < this.options.baselineReleasedAt) {
        this.report(
          "breaking",
          where,
          `newly deprecated but dated ${formatDay(dates.deprecatedAt)}, before the baseline's release (${formatDay(this.options.baselineReleasedAt)}): the notice starts when it is released`,
        );
      } else {
        this.report(
          "non-breaking",
          where,
          `deprecated (x-deprecated-at ${dates.deprecatedAt.toISOString()}, x-sunset ${dates.removableFrom.toISOString()})`,
        );
      }
      return;
    }
    const announced = before ? parseOpenApiDeprecation(before.op) : null;
    if (announced && !("error" in announced) && dates.removableFrom < announced.removableFrom) {
      this.report(
        "breaking",
        where,
        `x-sunset moved earlier, from ${announced.removableFrom.toISOString()} to ${dates.removableFrom.toISOString()}`,
      );
    }
  }

  private operation(before: Operation, after: Operation, where: string): void {
    const scopeBefore = before.op["x-required-scope"];
    const scopeAfter = after.op["x-required-scope"];
    if (scopeBefore !== scopeAfter) {
      this.report(
        "breaking",
        where,
        `required scope changed from ${String(scopeBefore)} to ${String(scopeAfter)}`,
      );
    }
    const publicBefore = Array.isArray(before.op.security) && before.op.security.length === 0;
    const publicAfter = Array.isArray(after.op.security) && after.op.security.length === 0;
    if (publicBefore && !publicAfter) this.report("breaking", where, "now requires authentication");
    this.parameters(before, after, where);
    this.requestBody(before.op, after.op, where);
    this.responses(before.op, after.op, where);
  }

  private parameters(before: Operation, after: Operation, where: string): void {
    // Path parameters by position, so a renamed one is the same parameter.
    const beforeNames = [...before.path.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]);
    const afterNames = [...after.path.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]);
    const key = (p: Json, names: (string | undefined)[]) => {
      const name = String(p.name);
      if (p.in === "path") return `path #${names.indexOf(name)}`;
      return `${String(p.in)} ${p.in === "header" ? name.toLowerCase() : name}`;
    };
    const collect = (doc: Json, op: Json, names: (string | undefined)[]) =>
      new Map(
        (Array.isArray(op.parameters) ? op.parameters : [])
          .map((p) => this.resolve(doc, p).schema)
          .map((p) => [key(p, names), p] as const),
      );
    const beforeParams = collect(this.base, before.op, beforeNames);
    const afterParams = collect(this.current, after.op, afterNames);
    for (const [k, p] of beforeParams) {
      const label = `${String(p.in)} parameter ${JSON.stringify(p.name)}`;
      const q = afterParams.get(k);
      if (!q) {
        // The API refuses unknown query parameters (422), so a client still sending one breaks.
        if (p.in === "header") this.report("dangerous", where, `${label} removed (now ignored)`);
        else this.report("breaking", where, `${label} removed`);
        continue;
      }
      if (q.required === true && p.required !== true)
        this.report("breaking", where, `${label} became required`);
      if (p.required === true && q.required !== true)
        this.report("non-breaking", where, `${label} became optional`);
      this.schema(p.schema, q.schema, "request", `${where} ${label}`, "");
    }
    for (const [k, q] of afterParams) {
      if (beforeParams.has(k)) continue;
      const label = `${String(q.in)} parameter ${JSON.stringify(q.name)}`;
      if (q.required === true) this.report("breaking", where, `new required ${label}`);
      else this.report("non-breaking", where, `new optional ${label}`);
    }
  }

  private requestBody(before: Json, after: Json, where: string): void {
    const b = before.requestBody ? this.resolve(this.base, before.requestBody).schema : undefined;
    const a = after.requestBody ? this.resolve(this.current, after.requestBody).schema : undefined;
    if (!b && !a) return;
    if (!a) {
      this.report("dangerous", where, "no longer takes a request body (one sent is ignored)");
      return;
    }
    if (!b) {
      if (a.required === true) this.report("breaking", where, "new required request body");
      else this.report("non-breaking", where, "new optional request body");
      return;
    }
    if (a.required === true && b.required !== true)
      this.report("breaking", where, "request body became required");
    const afterContent = record(a.content) ?? {};
    for (const [type, media] of entries(b.content)) {
      const next = record(afterContent[type]);
      if (!next) {
        this.report("breaking", where, `request body no longer accepts ${type}`);
        continue;
      }
      this.schema(record(media)?.schema, next.schema, "request", `${where} request body`, "");
    }
    for (const type of Object.keys(afterContent)) {
      if (!record(b.content)?.[type]) this.report("non-breaking", where, `request body also accepts ${type}`);
    }
  }

  private responses(before: Json, after: Json, where: string): void {
    const afterResponses = record(after.responses) ?? {};
    for (const [status, raw] of entries(before.responses)) {
      const b = this.resolve(this.base, raw).schema;
      const rawAfter = afterResponses[status];
      if (rawAfter === undefined) {
        this.report("breaking", where, `response ${status} removed`);
        continue;
      }
      const a = this.resolve(this.current, rawAfter).schema;
      const label = `${where} response ${status}`;
      const afterHeaders = new Map(entries(a.headers).map(([n, h]) => [n.toLowerCase(), h] as const));
      for (const [name, header] of entries(b.headers)) {
        const next = afterHeaders.get(name.toLowerCase());
        if (next === undefined) this.report("breaking", label, `header ${name} removed`);
        else {
          this.schema(
            this.resolve(this.base, header).schema.schema,
            this.resolve(this.current, next).schema.schema,
            "response",
            `${label} header ${name}`,
            "",
          );
        }
      }
      const beforeHeaders = new Set(entries(b.headers).map(([n]) => n.toLowerCase()));
      for (const [name] of entries(a.headers)) {
        if (!beforeHeaders.has(name.toLowerCase()))
          this.report("non-breaking", label, `header ${name} added`);
      }
      const afterContent = record(a.content) ?? {};
      for (const [type, media] of entries(b.content)) {
        const next = record(afterContent[type]);
        if (!next) this.report("breaking", label, `no longer answers ${type}`);
        else this.schema(record(media)?.schema, next.schema, "response", label, "");
      }
      for (const type of Object.keys(afterContent)) {
        if (!record(b.content)?.[type]) this.report("dangerous", label, `may now answer ${type}`);
      }
    }
    for (const status of Object.keys(afterResponses)) {
      if (record(before.responses)?.[status] !== undefined) continue;
      // A client must cope with any error status; a new kind of success is something it may not expect.
      if (/^[23]/.test(status)) this.report("dangerous", where, `new success response ${status}`);
      else this.report("non-breaking", where, `new response ${status}`);
    }
  }

  private resolve(doc: Json, value: unknown): { schema: Json; ref?: string } {
    return resolveRef(doc, value);
  }

  /** Compares two schemas at `location` + JSON-Pointer-like `field` (`/leads/[]/website`). */
  private schema(
    beforeRaw: unknown,
    afterRaw: unknown,
    dir: Direction,
    location: string,
    field: string,
  ): void {
    if (beforeRaw === undefined && afterRaw === undefined) return;
    const before = this.resolve(this.base, beforeRaw);
    const after = this.resolve(this.current, afterRaw);
    if (before.ref && after.ref) {
      // A shared component is compared once per direction and reported under its own name.
      const key = `${dir} ${before.ref} ${after.ref}`;
      if (this.compared.has(key)) return;
      this.compared.add(key);
      location = after.ref === before.ref ? before.ref : `${before.ref} → ${after.ref}`;
      field = "";
    }
    const at = field || "/";
    const report = (level: ChangeLevel, message: string) => this.report(level, `${location} ${at}`, message);
    const beforeAlts = this.alternatives(this.base, before.schema);
    const afterAlts = this.alternatives(this.current, after.schema);
    const covering = (alts: Map<string, Json>, type: string) =>
      alts.get(type) ?? (type === "integer" ? alts.get("number") : undefined) ?? alts.get("any");
    if (dir === "request") {
      for (const [type, b] of beforeAlts) {
        const a = covering(afterAlts, type);
        if (!a) report("breaking", `no longer accepts ${type === "any" ? "any type" : type}`);
        else this.pair(b, a, type, dir, location, field, report);
      }
      for (const type of afterAlts.keys()) {
        if (!covering(beforeAlts, type)) report("non-breaking", `now also accepts ${type}`);
      }
    } else {
      for (const [type, a] of afterAlts) {
        const b = covering(beforeAlts, type);
        if (!b) report("breaking", `response may now be ${type === "any" ? "any type" : type}`);
        else this.pair(b, a, type, dir, location, field, report);
      }
      for (const type of beforeAlts.keys()) {
        if (!covering(afterAlts, type)) report("non-breaking", `response is no longer ${type}`);
      }
    }
  }

  /**
   * A schema as its alternatives by JSON type (`string`, `null`, `object`, …, or `any` when unconstrained):
   * `type: [string, null]` and `anyOf: [{…}, {type: null}]` both become { string, null }.
   */
  private alternatives(doc: Json, schema: Json): Map<string, Json> {
    const out = new Map<string, Json>();
    const add = (type: string, s: Json) => {
      let key = type;
      for (let i = 1; out.has(key); i++) key = `${type}#${i}`;
      out.set(key, s);
    };
    let s = schema;
    if (Array.isArray(s.allOf)) {
      // Merged shallowly: properties and required of every part.
      const parts = s.allOf.map((p) => this.resolve(doc, p).schema);
      const { allOf: _allOf, ...rest } = s;
      const merged: Json = { ...rest };
      const properties: Json = {};
      const required: unknown[] = [];
      for (const part of [rest, ...parts]) {
        Object.assign(merged, part);
        Object.assign(properties, record(part.properties) ?? {});
        if (Array.isArray(part.required)) required.push(...part.required);
      }
      s = { ...merged, properties, required };
    }
    const union = Array.isArray(s.anyOf) ? s.anyOf : Array.isArray(s.oneOf) ? s.oneOf : undefined;
    if (union) {
      for (const branch of union) {
        for (const [type, alt] of this.alternatives(doc, this.resolve(doc, branch).schema)) {
          add(type.replace(/#\d+$/, ""), alt);
        }
      }
      return out;
    }
    let types: string[];
    if (typeof s.type === "string") types = [s.type];
    else if (Array.isArray(s.type)) types = s.type.map(String);
    else if ("const" in s) types = [jsonType(s.const)];
    else if (Array.isArray(s.enum)) types = [...new Set(s.enum.map(jsonType))];
    else types = ["any"];
    for (const type of types) add(type, s);
    return out;
  }

  /** Two alternatives of the same JSON type: values, bounds, patterns, object members, array items. */
  private pair(
    b: Json,
    a: Json,
    type: string,
    dir: Direction,
    location: string,
    field: string,
    report: (level: ChangeLevel, message: string) => void,
  ): void {
    const req = dir === "request";
    this.values(b, a, type, dir, report);
    // Bounds: [keyword, which side of the range it limits].
    const bounds: [string, "lower" | "upper"][] = [
      ["minimum", "lower"],
      ["exclusiveMinimum", "lower"],
      ["maximum", "upper"],
      ["exclusiveMaximum", "upper"],
      ["minLength", "lower"],
      ["maxLength", "upper"],
      ["minItems", "lower"],
      ["maxItems", "upper"],
      ["minProperties", "lower"],
      ["maxProperties", "upper"],
    ];
    for (const [keyword, side] of bounds) {
      const x = typeof b[keyword] === "number" ? (b[keyword] as number) : undefined;
      const y = typeof a[keyword] === "number" ? (a[keyword] as number) : undefined;
      if (x === y) continue;
      const tighter = x === undefined ? true : y === undefined ? false : side === "lower" ? y > x : y < x;
      const what = `${keyword} ${x === undefined ? "added" : y === undefined ? "removed" : "changed"} (${x ?? "none"} → ${y ?? "none"})`;
      if (req) report(tighter ? "breaking" : "non-breaking", `request ${what}`);
      else report(tighter ? "non-breaking" : "dangerous", `response ${what}`);
    }
    for (const keyword of ["pattern", "format", "multipleOf"]) {
      const x = b[keyword];
      const y = a[keyword];
      if (x === y) continue;
      const what = `${keyword} ${x === undefined ? "added" : y === undefined ? "removed" : "changed"} (${JSON.stringify(x ?? null)} → ${JSON.stringify(y ?? null)})`;
      if (req) report(y === undefined ? "non-breaking" : "breaking", `request ${what}`);
      else report(x === undefined ? "non-breaking" : "dangerous", `response ${what}`);
    }
    if (type.startsWith("object")) this.object(b, a, dir, location, field, report);
    if (type.startsWith("array")) this.schema(b.items, a.items, dir, location, `${field}/[]`);
  }

  /** enum and const: a request that accepts fewer values breaks; a response that may hold new ones is dangerous. */
  private values(
    b: Json,
    a: Json,
    type: string,
    dir: Direction,
    report: (level: ChangeLevel, message: string) => void,
  ): void {
    const listed = (s: Json): unknown[] | undefined => {
      const all = "const" in s ? [s.const] : Array.isArray(s.enum) ? s.enum : undefined;
      const base = type.replace(/#\d+$/, "");
      return all?.filter(
        (v) => base === "any" || jsonType(v) === base || (base === "number" && typeof v === "number"),
      );
    };
    const x = listed(b);
    const y = listed(a);
    if (!x && !y) return;
    const show = (vs: unknown[]) => vs.map((v) => JSON.stringify(v)).join(", ");
    if (dir === "request") {
      if (!x && y) report("breaking", `request now only accepts ${show(y)}`);
      else if (x && !y) report("non-breaking", `request accepts any value now (was ${show(x)})`);
      else if (x && y) {
        const removed = x.filter((v) => !y.some((w) => w === v));
        const added = y.filter((v) => !x.some((w) => w === v));
        if (removed.length) report("breaking", `request no longer accepts ${show(removed)}`);
        if (added.length) report("non-breaking", `request also accepts ${show(added)}`);
      }
    } else {
      if (!x && y) report("non-breaking", `response now limited to ${show(y)}`);
      else if (x && !y) report("dangerous", `response no longer limited to ${show(x)}`);
      else if (x && y) {
        const removed = x.filter((v) => !y.some((w) => w === v));
        const added = y.filter((v) => !x.some((w) => w === v));
        if (added.length) report("dangerous", `response may now be ${show(added)}`);
        if (removed.length) report("non-breaking", `response is no longer ${show(removed)}`);
      }
    }
  }

  private object(
    b: Json,
    a: Json,
    dir: Direction,
    location: string,
    field: string,
    report: (level: ChangeLevel, message: string) => void,
  ): void {
    const beforeProps = record(b.properties) ?? {};
    const afterProps = record(a.properties) ?? {};
    const beforeRequired = new Set(Array.isArray(b.required) ? b.required.map(String) : []);
    const afterRequired = new Set(Array.isArray(a.required) ? a.required.map(String) : []);
    const closed = (s: Json) => s.additionalProperties === false;
    const child = (name: string) => `${field}/${name.replaceAll("~", "~0").replaceAll("/", "~1")}`;
    const at = (name: string) => (level: ChangeLevel, message: string) =>
      this.report(level, `${location} ${child(name)}`, message);
    for (const [name, schema] of Object.entries(beforeProps)) {
      const next = afterProps[name];
      if (dir === "request") {
        if (next === undefined) {
          // Unknown fields are refused (422) where the object is closed.
          if (closed(a)) at(name)("breaking", "request field removed (now refused as unknown)");
          else at(name)("non-breaking", "request field removed (now ignored)");
          continue;
        }
        if (afterRequired.has(name) && !beforeRequired.has(name))
          at(name)("breaking", "request field became required");
        if (beforeRequired.has(name) && !afterRequired.has(name))
          at(name)("non-breaking", "request field became optional");
      } else {
        if (next === undefined) {
          at(name)("breaking", "response field removed");
          continue;
        }
        if (beforeRequired.has(name) && !afterRequired.has(name)) {
          at(name)("breaking", "response field may now be absent (it was required)");
        }
        if (afterRequired.has(name) && !beforeRequired.has(name))
          at(name)("non-breaking", "response field now always present");
      }
      this.schema(schema, next, dir, location, child(name));
    }
    for (const name of Object.keys(afterProps)) {
      if (name in beforeProps) continue;
      if (dir === "request") {
        if (afterRequired.has(name)) at(name)("breaking", "new required request field");
        else at(name)("non-breaking", "new optional request field");
      } else at(name)("non-breaking", "response field added");
    }
    const beforeExtra = b.additionalProperties;
    const afterExtra = a.additionalProperties;
    if (dir === "request" && !closed(b) && closed(a))
      report("breaking", "request no longer accepts other fields");
    if (dir === "request" && closed(b) && !closed(a))
      report("non-breaking", "request accepts other fields now");
    if (dir === "response" && closed(b) && !closed(a))
      report("dangerous", "response may now carry other fields");
    if (record(beforeExtra) && record(afterExtra))
      this.schema(beforeExtra, afterExtra, dir, location, `${field}/*`);
  }
}

function jsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value === "object" ? "object" : typeof value;
}

/** Every change from `baseline` to `current`, classified. */
export function diffOpenApi(
  baseline: unknown,
  current: unknown,
  options: OpenApiDiffOptions,
): ContractChange[] {
  const base = record(baseline);
  const cur = record(current);
  if (!base || !cur) throw new Error("an OpenAPI document must be a JSON object");
  return new Differ(base, cur, options).run();
}
