import { spawn } from "node:child_process";
import type pg from "pg";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { decryptField, encryptedKeyId, encryptField } from "../../src/compliance/field-encryption.js";
import { leadKeyColumnsExist, rotateLeadKeys } from "../../src/compliance/rotate-lead-keys.js";
import { getSecrets, type Secrets, useSecrets } from "../../src/compliance/secrets.js";
import { domainToken, emailToken } from "../../src/compliance/tokens.js";
import { migrate } from "../../src/db/migrate.js";
import { logger, scratchDatabase } from "../support/db.js";
import { randomKey, secretsWith } from "./keys.js";

/**
 * `npm run keys:rotate` against a scratch database of its own: rotation rewrites every lead, so it must not run on
 * the shared test database, whose rows other files read under the suite's keys.
 */
afterEach(() => useSecrets(undefined));

const encA = randomKey();
const encB = randomKey();
const encZ = randomKey();
const tokOld = randomKey();
const tokNew = randomKey();
const before: Secrets = secretsWith({
  encryption: { keys: { A: encA }, current: "A" },
  tokenization: { current: tokOld },
});
const after: Secrets = secretsWith({
  encryption: { keys: { A: encA, B: encB }, current: "B" },
  tokenization: { current: tokNew, previous: [tokOld] },
});

type Row = {
  id: string;
  contact_name: string | null;
  contact_email: string | null;
  contact_phone: string | null;
  domain: string | null;
  email_token: string | null;
  domain_token: string | null;
  erased_at: Date | null;
};

let missingColumns: string | undefined;

async function scratch(): Promise<{ url: string; pool: pg.Pool } | undefined> {
  const db = await scratchDatabase();
  await migrate(db.url, { logger });
  if (!(await leadKeyColumnsExist(db.pool))) {
    missingColumns =
      "leads has no email_token/domain_token/erased_at (migration 0015 is not applied): keys:rotate tests skipped";
    console.warn(`[rotate-lead-keys.test] ${missingColumns}`);
    return undefined;
  }
  return db;
}

let n = 0;
async function insertLead(pool: pg.Pool, values: Partial<Omit<Row, "id">>): Promise<string> {
  n++;
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO leads (company_name, domain, source_platform, contact_name, contact_email, contact_phone,
                        email_token, domain_token, erased_at)
     VALUES ($1, $2, 'google_maps', $3, $4, $5, $6, $7, $8) RETURNING id`,
    [
      `Company ${n}`,
      values.domain === undefined ? `company-${n}-${Date.now()}.example` : values.domain,
      values.contact_name ?? null,
      values.contact_email ?? null,
      values.contact_phone ?? null,
      values.email_token ?? null,
      values.domain_token ?? null,
      values.erased_at ?? null,
    ],
  );
  return rows[0]?.id ?? "";
}

async function rowsOf(pool: pg.Pool): Promise<Map<string, Row>> {
  const { rows } = await pool.query<Row>(
    `SELECT id, contact_name, contact_email, contact_phone, domain, email_token, domain_token, erased_at
       FROM leads ORDER BY id`,
  );
  return new Map(rows.map((r) => [r.id, r]));
}

describe("rotateLeadKeys", () => {
  let pool: pg.Pool;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    const db = await scratch();
    if (!db) return;
    pool = db.pool;
    // Written before field encryption existed: plaintext, no tokens.
    ids.legacy = await insertLead(pool, {
      contact_name: "Lena Legacy",
      contact_email: " Lena@Legacy.example ",
      contact_phone: "+49 30 111",
      domain: "legacy.example",
    });
    // Written under the old keys.
    useSecrets(before);
    ids.old = await insertLead(pool, {
      contact_name: encryptField("Olaf Old"),
      contact_email: encryptField("olaf@old.example"),
      contact_phone: null,
      domain: "old.example",
      email_token: emailToken("olaf@old.example"),
      domain_token: domainToken("old.example"),
    });
    // Already under the new keys: must not be rewritten.
    useSecrets(after);
    ids.current = await insertLead(pool, {
      contact_name: encryptField("Carla Current"),
      contact_email: encryptField("carla@current.example"),
      domain: "current.example",
      email_token: emailToken("carla@current.example"),
      domain_token: domainToken("current.example"),
    });
    ids.noContact = await insertLead(pool, { domain: "nocontact.example" });
    ids.erased = await insertLead(pool, { domain: null, erased_at: new Date("2026-01-01T00:00:00Z") });
    // Under a key nobody configured any more.
    useSecrets(secretsWith({ encryption: { keys: { Z: encZ }, current: "Z" } }));
    ids.unknownKey = await insertLead(pool, {
      contact_email: encryptField("zed@lost.example"),
      domain: "lost.example",
    });
    useSecrets(undefined);
    await pool.query(
      `INSERT INTO lead_suppressions (kind, token, token_key_id, lead_id) VALUES ('email', $1, $2, $3)`,
      ["0".repeat(64), before.tokenization.current.id, ids.erased],
    );
  });

  it("a dry run counts what it would do and writes nothing", async (ctx) => {
    if (!pool) return ctx.skip(missingColumns);
    useSecrets(after);
    const snapshot = await rowsOf(pool);
    const report = await rotateLeadKeys(pool, { dryRun: true, batchSize: 2 });
    expect(report).toMatchObject({
      dryRun: true,
      encryptionKeyId: "B",
      tokenKeyId: after.tokenization.current.id,
      scanned: 5,
      rowsUpdated: 3, // legacy, old, noContact (domain token); current is up to date, unknownKey fails
      fieldsEncrypted: 3,
      fieldsReencrypted: { A: 2 },
      emailTokensUpdated: 2,
      domainTokensUpdated: 3,
      erasedSkipped: 1,
      lockedSkipped: 0,
      failures: [{ leadId: ids.unknownKey, column: "contact_email", reason: "unknown-key", keyId: "Z" }],
      suppressionsUnderPreviousKeys: { [before.tokenization.current.id]: 1 },
    });
    expect(await rowsOf(pool)).toEqual(snapshot);
    const audit = await pool.query("SELECT 1 FROM audit_log WHERE action = 'lead.keys_rotated'");
    expect(audit.rowCount).toBe(0);
  });

  it("skips a lead another transaction holds, and reports it", async (ctx) => {
    if (!pool) return ctx.skip(missingColumns);
    useSecrets(after);
    const holder = await pool.connect();
    try {
      await holder.query("BEGIN");
      await holder.query("SELECT 1 FROM leads WHERE id = $1 FOR UPDATE", [ids.legacy]);
      const report = await rotateLeadKeys(pool, { dryRun: true, batchSize: 2 });
      expect(report.lockedSkipped).toBe(1);
      expect(report.scanned).toBe(4);
    } finally {
      await holder.query("ROLLBACK");
      holder.release();
    }
  });

  it("re-encrypts plaintext and old-key fields under the current key and recomputes the tokens", async (ctx) => {
    if (!pool) return ctx.skip(missingColumns);
    useSecrets(after);
    const snapshot = await rowsOf(pool);
    const report = await rotateLeadKeys(pool, { batchSize: 2 });
    expect(report).toMatchObject({ dryRun: false, scanned: 5, rowsUpdated: 3, fieldsEncrypted: 3 });
    const rows = await rowsOf(pool);

    const legacy = rows.get(ids.legacy as string);
    for (const column of ["contact_name", "contact_email", "contact_phone"] as const) {
      expect(encryptedKeyId(legacy?.[column])).toBe("B");
    }
    expect(decryptField(legacy?.contact_name)).toBe("Lena Legacy");
    expect(decryptField(legacy?.contact_email)).toBe(" Lena@Legacy.example ");
    expect(decryptField(legacy?.contact_phone)).toBe("+49 30 111");
    expect(legacy?.email_token).toBe(emailToken("lena@legacy.example"));
    expect(legacy?.domain_token).toBe(domainToken("legacy.example"));

    const old = rows.get(ids.old as string);
    expect(encryptedKeyId(old?.contact_email)).toBe("B");
    expect(decryptField(old?.contact_email)).toBe("olaf@old.example");
    expect(decryptField(old?.contact_name)).toBe("Olaf Old");
    expect(old?.contact_phone).toBeNull();
    expect(old?.email_token).toBe(emailToken("olaf@old.example"));
    expect(old?.email_token).not.toBe(snapshot.get(ids.old as string)?.email_token);

    const noContact = rows.get(ids.noContact as string);
    expect(noContact?.email_token).toBeNull();
    expect(noContact?.domain_token).toBe(domainToken("nocontact.example"));

    // Untouched: up to date, erased, unreadable.
    for (const key of ["current", "erased", "unknownKey"]) {
      expect(rows.get(ids[key] as string)).toEqual(snapshot.get(ids[key] as string));
    }

    const audit = await pool.query<{ principal_type: string; details: Record<string, unknown> }>(
      "SELECT principal_type, details FROM audit_log WHERE action = 'lead.keys_rotated' ORDER BY id",
    );
    // One audit row per written batch (ids are random, so which batches hold the three leads varies).
    const audited = audit.rows.map((r) => Number(r.details.rows));
    expect(audited.reduce((a, b) => a + b, 0)).toBe(3);
    expect(audited.every((rows) => rows >= 1 && rows <= 2)).toBe(true);
    expect(audit.rows.every((r) => r.principal_type === "system")).toBe(true);
    const details = JSON.stringify(audit.rows);
    for (const pii of ["Lena", "legacy.example", "olaf", "+49"]) expect(details).not.toContain(pii);
  });

  it("a second run writes nothing", async (ctx) => {
    if (!pool) return ctx.skip(missingColumns);
    useSecrets(after);
    const snapshot = await rowsOf(pool);
    const report = await rotateLeadKeys(pool, { batchSize: 2 });
    expect(report).toMatchObject({ rowsUpdated: 0, fieldsEncrypted: 0, fieldsReencrypted: {} });
    expect(report.failures).toHaveLength(1);
    expect(await rowsOf(pool)).toEqual(snapshot);
  });

  it("once key A is dropped, every remaining row still reads (nothing is left under A)", async (ctx) => {
    if (!pool) return ctx.skip(missingColumns);
    useSecrets(
      secretsWith({
        encryption: { keys: { B: encB }, current: "B" },
        tokenization: { current: tokNew, previous: [tokOld] },
      }),
    );
    const rows = await rowsOf(pool);
    for (const [id, row] of rows) {
      if (id === ids.unknownKey) continue;
      for (const column of ["contact_name", "contact_email", "contact_phone"] as const) {
        expect(() => decryptField(row[column])).not.toThrow();
      }
    }
  });
});

describe("npm run keys:rotate", () => {
  function runCli(url: string, args: string[]): Promise<{ code: number | null; out: string }> {
    return new Promise((resolve, reject) => {
      // The suite's keys (vitest.config.ts test.env) are in process.env and so in the child's environment.
      const child = spawn(process.execPath, ["--import", "tsx", "src/cli/rotate-keys.ts", ...args], {
        env: {
          ...process.env,
          DATABASE_URL: url,
          DATABASE_REPLICA_URL: "",
          DATABASE_REPLICA_URLS: "",
          LOG_LEVEL: "warn",
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      child.stdout.on("data", (c: Buffer) => (out += c.toString()));
      child.stderr.on("data", (c: Buffer) => (out += c.toString()));
      child.on("error", reject);
      child.on("exit", (code) => resolve({ code, out }));
    });
  }

  it("prints the counts, writes nothing with --dry-run, then encrypts under the configured key", async (ctx) => {
    const db = await scratch();
    if (!db) return ctx.skip(missingColumns);
    const id = await insertLead(db.pool, { contact_email: "cli@legacy.example", domain: "cli.example" });

    const dry = await runCli(db.url, ["--dry-run"]);
    expect(dry.code, dry.out).toBe(0);
    expect(dry.out).toContain("dry run (nothing written)");
    expect(dry.out).toMatch(/fields encrypted\s+1/);
    expect(dry.out).not.toContain("cli@legacy.example");
    expect((await rowsOf(db.pool)).get(id)?.contact_email).toBe("cli@legacy.example");

    const real = await runCli(db.url, []);
    expect(real.code, real.out).toBe(0);
    expect(real.out).toMatch(/leads updated\s+1/);
    const row = (await rowsOf(db.pool)).get(id);
    expect(encryptedKeyId(row?.contact_email)).toBe(getSecrets().encryption.current.id);
    expect(decryptField(row?.contact_email)).toBe("cli@legacy.example");
    expect(row?.email_token).toBe(emailToken("cli@legacy.example"));
  });

  it("refuses bad arguments with exit code 2", async () => {
    const bad = await runCli("postgres://unused.invalid/x", ["--batch-size", "0"]);
    expect(bad.code).toBe(2);
    expect(bad.out).toContain("--batch-size must be an integer");
  });
});
