import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import {
  type Config,
  ConfigError,
  ENCRYPTION_KEY_BYTES,
  type KeySettings,
  type KeySettingsInput,
  loadConfig,
  parseKeySettings,
} from "../config.js";
import { createLogger, type Logger } from "../logger.js";

/**
 * The key material of the process: the HMAC key that makes tokens (plus the previous ones, which lookups still try
 * after a rotation) and the AES-256-GCM keys of field encryption (the current one encrypts; every one decrypts the
 * values that name it).
 *
 * Where it comes from (see the README, "Tokenization and key handling"):
 * - TOKENIZATION_KEY / TOKENIZATION_PREVIOUS_KEYS / ENCRYPTION_KEYS / ENCRYPTION_KEY_ID when set (validated by
 *   parseKeySettings in src/config.ts);
 * - else, for the embedded default (no DATABASE_URL), `<REACHGRAPH_DATA_DIR>/secrets.json`, generated on first use;
 * - else, with DATABASE_URL: in production a ConfigError (keys of a real database must come from its secret store,
 *   not from a file next to the code), in development and test the same generated file with a warning.
 */
export type Key = { id: string; key: Buffer };

export type Secrets = {
  tokenization: { current: Key; previous: Key[] };
  encryption: { current: Key; all: ReadonlyMap<string, Buffer> };
};

export const SECRETS_FILE = "secrets.json";

let current: Secrets | undefined;

/** The process's secrets, loaded from loadConfig() on first use. Throws ConfigError when they are missing or bad. */
export function getSecrets(): Secrets {
  current ??= loadSecrets(loadConfig());
  return current;
}

/** Replaces the process's secrets (tests); `undefined` makes the next getSecrets() load them again. */
export function useSecrets(secrets: Secrets | undefined): void {
  current = secrets;
}

/**
 * A token key's id: the first 8 hex digits of SHA-256 of the key. Suppression rows store it, so that the key a token
 * was made under can be told without keeping the key itself next to the data; 32 bits of a hash reveal nothing of it.
 */
export function keyFingerprint(key: Buffer): string {
  return createHash("sha256").update(key).digest("hex").slice(0, 8);
}

/** Fresh random keys: a 32-byte tokenization key and one AES-256 key whose id is its fingerprint. */
export function generateSecrets(): Secrets {
  const tokenKey = randomBytes(32);
  const encryptionKey = randomBytes(ENCRYPTION_KEY_BYTES);
  const encryptionId = keyFingerprint(encryptionKey);
  return fromKeySettings({
    tokenization: { current: tokenKey, previous: [] },
    encryption: { currentKeyId: encryptionId, keys: [{ id: encryptionId, key: encryptionKey }] },
  });
}

/** Secrets from validated settings (both parts present). */
export function fromKeySettings(settings: KeySettings): Secrets {
  const { tokenization, encryption } = settings;
  if (!tokenization || !encryption) throw new ConfigError("key settings are incomplete");
  const all = new Map(encryption.keys.map((k) => [k.id, k.key]));
  const currentKey = all.get(encryption.currentKeyId);
  if (!currentKey) throw new ConfigError(`ENCRYPTION_KEY_ID "${encryption.currentKeyId}" names no key`);
  const asKey = (key: Buffer): Key => ({ id: keyFingerprint(key), key });
  return {
    tokenization: { current: asKey(tokenization.current), previous: tokenization.previous.map(asKey) },
    encryption: { current: { id: encryption.currentKeyId, key: currentKey }, all },
  };
}

/** The secrets a configuration calls for; see the header of this file for the rules. */
export function loadSecrets(config: Config, logger: Logger = createLogger(config.logLevel)): Secrets {
  if (config.keys.tokenization && config.keys.encryption) return fromKeySettings(config.keys);
  // parseKeySettings refuses half a configuration, so here neither part is set.
  if (config.database.primaryUrl && config.env === "production") {
    throw new ConfigError(
      "DATABASE_URL is set but TOKENIZATION_KEY and ENCRYPTION_KEYS are not: in production set TOKENIZATION_KEY " +
        "(≥ 32 random bytes, hex or base64) and ENCRYPTION_KEYS (keyId:base64 of 32 random bytes), from your secret " +
        "store. Generated keys are only made for the embedded default and outside production.",
    );
  }
  const file = path.join(config.embedded.dataDir, SECRETS_FILE);
  const { secrets, created } = readOrCreateSecretsFile(file, logger);
  if (config.database.primaryUrl) {
    logger.warn(
      { file, created },
      "DATABASE_URL is set without TOKENIZATION_KEY/ENCRYPTION_KEYS: using generated keys from this file " +
        "(fine for development; losing the file makes the database's encrypted contact fields unreadable)",
    );
  } else if (created) {
    logger.info(
      { file },
      "generated the tokenization and encryption keys; back this file up with the database",
    );
  }
  return secrets;
}

/** secrets.json holds the four variables as text, so its contents can be moved to the environment as they are. */
type SecretsFile = KeySettingsInput & { comment?: string; created_at?: string };

function readSecretsFile(file: string, logger: Logger): Secrets {
  const mode = fs.statSync(file).mode;
  if ((mode & 0o077) !== 0) {
    logger.warn(
      { file, mode: (mode & 0o777).toString(8) },
      "the secrets file is readable by others: chmod 600 it",
    );
  }
  let parsed: SecretsFile;
  try {
    parsed = JSON.parse(fs.readFileSync(file, "utf8")) as SecretsFile;
  } catch (err) {
    throw new ConfigError(
      `${file} cannot be read as JSON (${(err as Error).message.split("\n")[0]}). Restore it from a backup; do not ` +
        "delete it while the database holds values encrypted under its keys.",
    );
  }
  const text = (v: unknown) => (typeof v === "string" && v.trim() !== "" ? v.trim() : undefined);
  const settings = parseKeySettings(
    {
      TOKENIZATION_KEY: text(parsed.TOKENIZATION_KEY),
      TOKENIZATION_PREVIOUS_KEYS: text(parsed.TOKENIZATION_PREVIOUS_KEYS),
      ENCRYPTION_KEYS: text(parsed.ENCRYPTION_KEYS),
      ENCRYPTION_KEY_ID: text(parsed.ENCRYPTION_KEY_ID),
    },
    file,
  );
  if (!settings.tokenization || !settings.encryption) {
    throw new ConfigError(`${file} must set TOKENIZATION_KEY and ENCRYPTION_KEYS`);
  }
  return fromKeySettings(settings);
}

function toFile(secrets: Secrets): SecretsFile {
  return {
    comment:
      "reachgraph key material (the same variables as the environment would set). Mode 0600. Back it up with the " +
      "database: without it, encrypted contact fields cannot be read and tokens cannot be matched.",
    created_at: new Date().toISOString(),
    TOKENIZATION_KEY: secrets.tokenization.current.key.toString("base64"),
    TOKENIZATION_PREVIOUS_KEYS: secrets.tokenization.previous.map((k) => k.key.toString("base64")).join(","),
    ENCRYPTION_KEYS: [...secrets.encryption.all]
      .map(([id, key]) => `${id}:${key.toString("base64")}`)
      .join(","),
    ENCRYPTION_KEY_ID: secrets.encryption.current.id,
  };
}

/**
 * Reads the file, or creates it atomically: the keys are written to a private temporary file (0600, fsynced) that is
 * then hard-linked to the final name, which fails if the name exists. So a reader never sees half a file, and of two
 * processes starting at once exactly one creates it and both use its keys.
 */
export function readOrCreateSecretsFile(
  file: string,
  logger: Logger,
): { secrets: Secrets; created: boolean } {
  if (fs.existsSync(file)) return { secrets: readSecretsFile(file, logger), created: false };
  const dir = path.dirname(file);
  // 0755 like the embedded cluster's own mkdir of the same directory (its postgres user must traverse it).
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  let created = false;
  try {
    const fd = fs.openSync(tmp, "wx", 0o600);
    try {
      fs.fchmodSync(fd, 0o600); // whatever the umask
      fs.writeFileSync(fd, `${JSON.stringify(toFile(generateSecrets()), null, 2)}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    created = publishExclusively(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  if (created) syncDirectory(dir);
  return { secrets: readSecretsFile(file, logger), created };
}

/** Gives `tmp` the name `file` unless that exists; false when another process got there first. */
function publishExclusively(tmp: string, file: string): boolean {
  try {
    try {
      fs.linkSync(tmp, file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "EPERM" && code !== "ENOTSUP" && code !== "ENOSYS") throw err;
      // A file system without hard links: an exclusive copy (it keeps the 0600 mode) still lets only one win.
      fs.copyFileSync(tmp, file, fs.constants.COPYFILE_EXCL);
    }
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
}

/** Makes the new directory entry durable (best effort: not every platform can fsync a directory). */
function syncDirectory(dir: string): void {
  try {
    const fd = fs.openSync(dir, "r");
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // not supported here
  }
}
