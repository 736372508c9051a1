import type pg from "pg";
import { decryptField, encryptedKeyId, encryptField, FieldDecryptionError } from "./field-encryption.js";
import { getSecrets } from "./secrets.js";
import { domainToken, emailToken, normalizeEmail, tokenKeyId } from "./tokens.js";

/**
 * Brings every live lead up to the current keys: contact fields that are legacy plaintext or encrypted under an
 * older key are (re-)encrypted under the current encryption key, and `email_token` / `domain_token` are recomputed
 * under the current tokenization key. Erased leads (erased_at set, no PII left) are skipped. `npm run keys:rotate`.
 *
 * Locking: leads are visited in id order (keyset, `batchSize` per transaction). Each batch locks its rows with
 * `FOR UPDATE SKIP LOCKED`, so the run never waits on (or deadlocks with) a request that holds a lead; rows it had
 * to skip are tried once more at the end and reported if still locked — run it again then. A row that needs no
 * change is not written, so a second run writes nothing. Each written batch adds one audit_log row (counts and key
 * ids, no PII) in its own transaction.
 *
 * Cost: an UPDATE of old leads marks their closed days for the platform rollup's recount (the leads' triggers), so
 * the first view refresh after a large run recounts those days once; the numbers do not change.
 *
 * Suppressions (lead_suppressions) hold tokens of erased leads whose addresses are gone: they cannot be recomputed,
 * which is why a previous tokenization key must stay in TOKENIZATION_PREVIOUS_KEYS while suppressions made under it
 * exist. The report counts them per key id.
 */
export type RotationOptions = {
  batchSize?: number;
  /** Compute and count everything, write nothing. */
  dryRun?: boolean;
  /** Called after each batch with the counts so far (progress output). */
  onBatch?: (report: Readonly<RotationReport>) => void;
};

export type RotationFailure = {
  leadId: string;
  column: ContactColumn;
  reason: FieldDecryptionError["reason"];
  keyId: string | null;
};

export type RotationReport = {
  dryRun: boolean;
  encryptionKeyId: string;
  tokenKeyId: string;
  /** Live leads read. */
  scanned: number;
  /** Leads written (in a dry run: that would be written). */
  rowsUpdated: number;
  /** Plaintext contact fields encrypted. */
  fieldsEncrypted: number;
  /** Contact fields moved from an older key to the current one, per older key id. */
  fieldsReencrypted: Record<string, number>;
  emailTokensUpdated: number;
  domainTokensUpdated: number;
  /** Erased leads, not touched. */
  erasedSkipped: number;
  /** Leads locked by other transactions on both tries: not processed. */
  lockedSkipped: number;
  /** Fields that could not be decrypted (unknown key id, tampered): their leads were left as they are. */
  failures: RotationFailure[];
  /** Active suppressions per tokenization key id other than the current one. */
  suppressionsUnderPreviousKeys: Record<string, number>;
};

const CONTACT_COLUMNS = ["contact_name", "contact_email", "contact_phone"] as const;
type ContactColumn = (typeof CONTACT_COLUMNS)[number];

type LeadKeyRow = Record<ContactColumn, string | null> & {
  id: string;
  domain: string | null;
  email_token: string | null;
  domain_token: string | null;
  erased_at: Date | null;
};

type LeadUpdate = Record<ContactColumn | "email_token" | "domain_token", string | null> & { id: string };

/** The columns migration 0015 added; without them there is nothing to rotate into. */
export async function leadKeyColumnsExist(pool: pg.Pool): Promise<boolean> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = 'leads'
        AND column_name IN ('email_token', 'domain_token', 'erased_at')`,
  );
  return rows[0]?.n === 3;
}

export async function rotateLeadKeys(pool: pg.Pool, options: RotationOptions = {}): Promise<RotationReport> {
  const batchSize = options.batchSize ?? 500;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError("batchSize must be a positive integer");
  if (!(await leadKeyColumnsExist(pool))) {
    throw new Error(
      "leads has no email_token / domain_token / erased_at columns: apply the migrations first (npm run db:migrate)",
    );
  }
  const secrets = getSecrets();
  const report: RotationReport = {
    dryRun: options.dryRun ?? false,
    encryptionKeyId: secrets.encryption.current.id,
    tokenKeyId: tokenKeyId(),
    scanned: 0,
    rowsUpdated: 0,
    fieldsEncrypted: 0,
    fieldsReencrypted: {},
    emailTokensUpdated: 0,
    domainTokensUpdated: 0,
    erasedSkipped: 0,
    lockedSkipped: 0,
    failures: [],
    suppressionsUnderPreviousKeys: {},
  };

  report.erasedSkipped =
    (await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM leads WHERE erased_at IS NOT NULL"))
      .rows[0]?.n ?? 0;

  const skipped: string[] = [];
  let after: string | null = null;
  for (;;) {
    const page: pg.QueryResult<{ id: string }> = await pool.query(
      `SELECT id FROM leads WHERE erased_at IS NULL AND ($1::uuid IS NULL OR id > $1::uuid) ORDER BY id LIMIT $2`,
      [after, batchSize],
    );
    const ids = page.rows.map((r) => r.id);
    if (ids.length === 0) break;
    after = ids[ids.length - 1] ?? null;
    skipped.push(...(await rotateBatch(pool, ids, report)));
    options.onBatch?.(report);
  }
  // Rows a request held during the pass: once more, now that those requests have most likely finished.
  for (let i = 0; i < skipped.length; i += batchSize) {
    report.lockedSkipped += (await rotateBatch(pool, skipped.slice(i, i + batchSize), report)).length;
  }
  if (skipped.length > 0) options.onBatch?.(report);

  const { rows: suppressions } = await pool.query<{ token_key_id: string; n: number }>(
    `SELECT token_key_id, count(*)::int AS n FROM lead_suppressions
      WHERE lifted_at IS NULL AND token_key_id <> $1 GROUP BY token_key_id ORDER BY token_key_id`,
    [report.tokenKeyId],
  );
  for (const s of suppressions) report.suppressionsUnderPreviousKeys[s.token_key_id] = s.n;
  return report;
}

/** One transaction over the given leads; returns the ids it could not lock. */
async function rotateBatch(pool: pg.Pool, ids: string[], report: RotationReport): Promise<string[]> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const { rows } = await client.query<LeadKeyRow>(
      `SELECT id, contact_name, contact_email, contact_phone, domain, email_token, domain_token, erased_at
         FROM leads WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE SKIP LOCKED`,
      [ids],
    );
    const locked = new Set(rows.map((r) => r.id));
    const before = { ...report, fieldsReencrypted: { ...report.fieldsReencrypted } };
    const updates: LeadUpdate[] = [];
    for (const row of rows) {
      if (row.erased_at) {
        report.erasedSkipped++; // erased since the pass listed it
        continue;
      }
      report.scanned++;
      const update = rotateRow(row, report);
      if (update) updates.push(update);
    }
    if (updates.length > 0 && !report.dryRun) {
      await client.query(
        `UPDATE leads AS l
            SET contact_name = u.contact_name, contact_email = u.contact_email, contact_phone = u.contact_phone,
                email_token = u.email_token, domain_token = u.domain_token
           FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
                AS u(id, contact_name, contact_email, contact_phone, email_token, domain_token)
          WHERE l.id = u.id`,
        [
          updates.map((u) => u.id),
          updates.map((u) => u.contact_name),
          updates.map((u) => u.contact_email),
          updates.map((u) => u.contact_phone),
          updates.map((u) => u.email_token),
          updates.map((u) => u.domain_token),
        ],
      );
      await client.query(
        `INSERT INTO audit_log (principal_type, principal_id, action, resource_type, resource_id, details)
         VALUES ('system', 'cli:keys-rotate', 'lead.keys_rotated', 'lead', NULL, $1)`,
        [
          JSON.stringify({
            rows: updates.length,
            first_lead_id: updates[0]?.id,
            last_lead_id: updates[updates.length - 1]?.id,
            fields_encrypted: report.fieldsEncrypted - before.fieldsEncrypted,
            fields_reencrypted: sum(report.fieldsReencrypted) - sum(before.fieldsReencrypted),
            email_tokens: report.emailTokensUpdated - before.emailTokensUpdated,
            domain_tokens: report.domainTokensUpdated - before.domainTokensUpdated,
            encryption_key_id: report.encryptionKeyId,
            token_key_id: report.tokenKeyId,
          }),
        ],
      );
    }
    report.rowsUpdated += updates.length;
    await client.query(report.dryRun ? "ROLLBACK" : "COMMIT");
    return ids.filter((id) => !locked.has(id));
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** The new values of a lead, or undefined when it is already under the current keys (or cannot be read). */
function rotateRow(row: LeadKeyRow, report: RotationReport): LeadUpdate | undefined {
  const current = report.encryptionKeyId;
  const plain = {} as Record<ContactColumn, string | null>;
  for (const column of CONTACT_COLUMNS) {
    try {
      plain[column] = decryptField(row[column]);
    } catch (err) {
      if (!(err instanceof FieldDecryptionError)) throw err;
      report.failures.push({ leadId: row.id, column, reason: err.reason, keyId: err.keyId ?? null });
      return undefined; // leave the whole row as it is: a half-rotated row is harder to reason about
    }
  }
  const next: LeadUpdate = { ...row };
  let changed = false;
  for (const column of CONTACT_COLUMNS) {
    const stored = row[column];
    if (stored === null) continue;
    const keyId = encryptedKeyId(stored);
    if (keyId === current) continue;
    next[column] = encryptField(plain[column]);
    if (keyId === null) report.fieldsEncrypted++;
    else report.fieldsReencrypted[keyId] = (report.fieldsReencrypted[keyId] ?? 0) + 1;
    changed = true;
  }
  const email = plain.contact_email;
  const emailTok = email !== null && normalizeEmail(email) !== "" ? emailToken(email) : null;
  if (emailTok !== (row.email_token?.trim() ?? null)) {
    next.email_token = emailTok;
    report.emailTokensUpdated++;
    changed = true;
  }
  const domainTok = row.domain ? domainTokenOrNull(row.domain) : null;
  if (domainTok !== (row.domain_token?.trim() ?? null)) {
    next.domain_token = domainTok;
    report.domainTokensUpdated++;
    changed = true;
  }
  return changed ? next : undefined;
}

function domainTokenOrNull(domain: string): string | null {
  try {
    return domainToken(domain);
  } catch (err) {
    if (err instanceof TypeError) return null; // a domain that normalises to nothing has no token
    throw err;
  }
}

function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}
