import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import type { EventEnvelope } from "./catalog.js";

export const EVENTS_DIR = fileURLToPath(new URL("../../events/", import.meta.url));
const FILE_NAME = /^(?<type>[a-z_]+\.[a-z_]+)\.v(?<version>\d+)\.schema\.json$/;

export type EventSchemaFile = {
  type: string;
  version: number;
  file: string;
  schema: Record<string, unknown>;
};

/** Every `<event>.v<N>.schema.json` under events/. */
export function readEventSchemas(dir = EVENTS_DIR): EventSchemaFile[] {
  return readdirSync(dir)
    .flatMap((file) => {
      const m = FILE_NAME.exec(file);
      if (!m?.groups) return [];
      const schema = JSON.parse(readFileSync(path.join(dir, file), "utf8")) as Record<string, unknown>;
      return [{ type: m.groups.type ?? "", version: Number(m.groups.version), file, schema }];
    })
    .sort((a, b) => a.file.localeCompare(b.file));
}

export class EventSchemaError extends Error {
  override name = "EventSchemaError";
}

/** Validates envelopes against the schema of their type and version; compiled once per process. */
export class EventValidator {
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(files: EventSchemaFile[] = readEventSchemas()) {
    const ajv = new Ajv2020({ allErrors: true, strict: true });
    addFormats.default(ajv);
    for (const f of files) this.validators.set(`${f.type}@${f.version}`, ajv.compile(f.schema));
  }

  /** Throws when the envelope breaks its schema: emitting an invalid event is a bug in reachgraph, not the client. */
  assertValid(envelope: EventEnvelope): void {
    const name = `${envelope.type} v${envelope.version}`;
    const validate = this.validators.get(`${envelope.type}@${envelope.version}`);
    if (!validate) throw new EventSchemaError(`No schema for event ${name}`);
    if (!validate(envelope)) {
      const why = (validate.errors ?? [])
        .map((e) => `${e.instancePath || "/"} ${e.message ?? ""}`)
        .join("; ");
      throw new EventSchemaError(`Event ${name} is invalid: ${why}`);
    }
  }
}
