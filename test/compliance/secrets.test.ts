import { createHash } from "node:crypto";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pino } from "pino";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { decryptField, encryptField } from "../../src/compliance/field-encryption.js";
import {
  generateSecrets,
  getSecrets,
  loadSecrets,
  SECRETS_FILE,
  type Secrets,
  useSecrets,
} from "../../src/compliance/secrets.js";
import { emailToken } from "../../src/compliance/tokens.js";
import { ConfigError, loadConfig } from "../../src/config.js";
import type { Logger } from "../../src/logger.js";
import { randomKey } from "./keys.js";

afterEach(() => useSecrets(undefined));

const tmpRoot = mkdtempSync(path.join(os.tmpdir(), "reachgraph-secrets-test-"));
afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }));
let dirs = 0;
const freshDataDir = () => path.join(tmpRoot, `data-${++dirs}`);

const tokenKey = randomKey();
const encKeyA = randomKey();
const encKeyB = randomKey();
const b64 = (b: Buffer) => b.toString("base64");
const validKeys = {
  TOKENIZATION_KEY: b64(tokenKey),
  ENCRYPTION_KEYS: `a:${b64(encKeyA)}`,
};

/** A logger that keeps its lines, to see what secrets.ts warns about. */
function memoryLogger(): { logger: Logger; lines: () => { level: number; msg: string }[] } {
  const out: string[] = [];
  const logger = pino({ level: "info" }, { write: (s: string) => out.push(s) });
  return { logger, lines: () => out.map((l) => JSON.parse(l) as { level: number; msg: string }) };
}

function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig({ NODE_ENV: "test", ...env });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error("loadConfig accepted a configuration it should refuse");
}

describe("key configuration from the environment", () => {
  it("decodes base64 and hex keys alike, with the encrypting key first by default", () => {
    const fromB64 = loadSecrets(loadConfig({ NODE_ENV: "test", ...validKeys }));
    const fromHex = loadSecrets(
      loadConfig({
        NODE_ENV: "test",
        TOKENIZATION_KEY: tokenKey.toString("hex"),
        ENCRYPTION_KEYS: `a:${encKeyA.toString("hex")}`,
      }),
    );
    for (const s of [fromB64, fromHex]) {
      expect(s.tokenization.current.key).toEqual(tokenKey);
      expect(s.tokenization.current.id).toBe(createHash("sha256").update(tokenKey).digest("hex").slice(0, 8));
      expect(s.encryption.current).toEqual({ id: "a", key: encKeyA });
    }
    const urlSafe = loadSecrets(
      loadConfig({ NODE_ENV: "test", ...validKeys, TOKENIZATION_KEY: tokenKey.toString("base64url") }),
    );
    expect(urlSafe.tokenization.current.key).toEqual(tokenKey);
  });

  it("reads several encryption keys and previous tokenization keys; ENCRYPTION_KEY_ID picks the current one", () => {
    const previous = randomKey(48);
    const s = loadSecrets(
      loadConfig({
        NODE_ENV: "production",
        DATABASE_URL: "postgres://db.example/app",
        TOKENIZATION_KEY: b64(tokenKey),
        TOKENIZATION_PREVIOUS_KEYS: ` ${b64(previous)} , ${b64(tokenKey)},`,
        ENCRYPTION_KEYS: `a:${b64(encKeyA)}, b:${b64(encKeyB)}`,
        ENCRYPTION_KEY_ID: "b",
      }),
    );
    expect(s.encryption.current).toEqual({ id: "b", key: encKeyB });
    expect([...s.encryption.all.keys()]).toEqual(["a", "b"]);
    // The current key listed again among the previous ones is not a second previous key.
    expect(s.tokenization.previous.map((k) => k.key)).toEqual([previous]);
  });

  it.each([
    [
      "a short tokenization key",
      { TOKENIZATION_KEY: b64(randomKey(31)) },
      "TOKENIZATION_KEY: must be at least 32 bytes (it has 31)",
    ],
    [
      "a tokenization key that is neither hex nor base64",
      { TOKENIZATION_KEY: "not a key!" },
      "TOKENIZATION_KEY: must be hex or base64",
    ],
    [
      "base64 with changed padding bits (decodes, but not to itself)",
      // 32 bytes = 43 characters + '=' whose last character carries 2 unused bits; 'B' instead of 'A' sets one.
      { TOKENIZATION_KEY: `${Buffer.alloc(32, 7).toString("base64").slice(0, 42)}B=` },
      "TOKENIZATION_KEY: must be hex or base64",
    ],
    [
      "a short previous key",
      { TOKENIZATION_PREVIOUS_KEYS: b64(randomKey(16)) },
      "TOKENIZATION_PREVIOUS_KEYS entry 1: must be at least 32 bytes",
    ],
    [
      "previous keys without a current one",
      { TOKENIZATION_KEY: "", TOKENIZATION_PREVIOUS_KEYS: b64(randomKey()) },
      "TOKENIZATION_PREVIOUS_KEYS: is set but TOKENIZATION_KEY is not",
    ],
    [
      "an encryption key entry without a key id",
      { ENCRYPTION_KEYS: b64(encKeyA) },
      "ENCRYPTION_KEYS entry 1: must be keyId:base64key",
    ],
    [
      "a key id with a colon's neighbour",
      { ENCRYPTION_KEYS: `a b:${b64(encKeyA)}` },
      "ENCRYPTION_KEYS entry 1: must be keyId:base64key",
    ],
    [
      "an AES key of 16 bytes",
      { ENCRYPTION_KEYS: `a:${b64(randomKey(16))}` },
      'ENCRYPTION_KEYS entry 1 (key id "a"): must be 32 bytes for AES-256 (it has 16)',
    ],
    [
      "an AES key that is not base64",
      { ENCRYPTION_KEYS: "a:%%%" },
      'ENCRYPTION_KEYS entry 1 (key id "a"): the key must be base64',
    ],
    [
      "a duplicate key id",
      { ENCRYPTION_KEYS: `a:${b64(encKeyA)},a:${b64(encKeyB)}` },
      'ENCRYPTION_KEYS: key id "a" appears twice',
    ],
    [
      "ENCRYPTION_KEY_ID naming no key",
      { ENCRYPTION_KEY_ID: "zz" },
      'ENCRYPTION_KEY_ID: "zz" is not a key id of ENCRYPTION_KEYS (a)',
    ],
    [
      "ENCRYPTION_KEY_ID without keys",
      { ENCRYPTION_KEYS: "", ENCRYPTION_KEY_ID: "a" },
      "ENCRYPTION_KEY_ID: is set but ENCRYPTION_KEYS is not",
    ],
    [
      "a tokenization key alone",
      { ENCRYPTION_KEYS: "" },
      "ENCRYPTION_KEYS: must be set too when TOKENIZATION_KEY is",
    ],
    [
      "encryption keys alone",
      { TOKENIZATION_KEY: "" },
      "TOKENIZATION_KEY: must be set too when ENCRYPTION_KEYS is",
    ],
  ])("refuses %s, naming the variable", (_case, override, message) => {
    const err = configError({ ...validKeys, ...override });
    expect(err.message).toContain(message);
    // No message quotes key material.
    for (const value of [...Object.values(validKeys), ...Object.values(override)]) {
      const key = value.split(":").at(-1) ?? "";
      if (key.length >= 16) expect(err.message).not.toContain(key);
    }
  });

  it("reports every problem at once", () => {
    const err = configError({
      TOKENIZATION_KEY: b64(randomKey(8)),
      ENCRYPTION_KEYS: `a:${b64(randomKey(8))}`,
    });
    expect(err.message).toContain("TOKENIZATION_KEY:");
    expect(err.message).toContain("ENCRYPTION_KEYS entry 1");
  });
});

describe("without configured keys", () => {
  it("in production with DATABASE_URL, refuses to start and names the variables", () => {
    const config = loadConfig({ NODE_ENV: "production", DATABASE_URL: "postgres://db.example/app" });
    expect(() => loadSecrets(config, memoryLogger().logger)).toThrow(ConfigError);
    expect(() => loadSecrets(config, memoryLogger().logger)).toThrow(/TOKENIZATION_KEY.*ENCRYPTION_KEYS/);
  });

  it("for the embedded default, generates secrets.json (0600) on first use and reuses it", () => {
    const dataDir = freshDataDir();
    const config = loadConfig({ NODE_ENV: "production", REACHGRAPH_DATA_DIR: dataDir });
    const first = memoryLogger();
    const created = loadSecrets(config, first.logger);
    const file = path.join(dataDir, SECRETS_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(first.lines().some((l) => l.msg.includes("generated"))).toBe(true);
    // Only the file: no temporary file left next to it.
    expect(readdirSync(dataDir)).toEqual([SECRETS_FILE]);

    const again = memoryLogger();
    const reused = loadSecrets(config, again.logger);
    expect(reused.tokenization.current.key).toEqual(created.tokenization.current.key);
    expect(reused.encryption.current).toEqual(created.encryption.current);
    expect(again.lines().some((l) => l.msg.includes("generated"))).toBe(false);

    // What one start encrypted and tokenized, the next start reads and matches.
    useSecrets(created);
    const stored = encryptField("kept@example.com");
    const token = emailToken("kept@example.com");
    useSecrets(reused);
    expect(decryptField(stored)).toBe("kept@example.com");
    expect(emailToken("kept@example.com")).toBe(token);
  });

  it("keeps a file another process created first (the file is never overwritten)", () => {
    const dataDir = freshDataDir();
    const config = loadConfig({ NODE_ENV: "test", REACHGRAPH_DATA_DIR: dataDir });
    loadSecrets(config, memoryLogger().logger);
    const original = readFileSync(path.join(dataDir, SECRETS_FILE), "utf8");
    loadSecrets(config, memoryLogger().logger);
    expect(readFileSync(path.join(dataDir, SECRETS_FILE), "utf8")).toBe(original);
  });

  it("holds the same variables as the environment, so its keys can be moved there as they are", () => {
    const dataDir = freshDataDir();
    const generated = loadSecrets(
      loadConfig({ NODE_ENV: "test", REACHGRAPH_DATA_DIR: dataDir }),
      memoryLogger().logger,
    );
    const file = JSON.parse(readFileSync(path.join(dataDir, SECRETS_FILE), "utf8")) as Record<string, string>;
    const fromEnv = loadSecrets(
      loadConfig({
        NODE_ENV: "production",
        DATABASE_URL: "postgres://db.example/app",
        TOKENIZATION_KEY: file.TOKENIZATION_KEY,
        ENCRYPTION_KEYS: file.ENCRYPTION_KEYS,
        ENCRYPTION_KEY_ID: file.ENCRYPTION_KEY_ID,
      }),
    );
    expect(fromEnv.tokenization.current).toEqual(generated.tokenization.current);
    expect(fromEnv.encryption.current).toEqual(generated.encryption.current);
  });

  it("with DATABASE_URL outside production, generates the file too but warns", () => {
    const dataDir = freshDataDir();
    const log = memoryLogger();
    loadSecrets(
      loadConfig({
        NODE_ENV: "development",
        DATABASE_URL: "postgres://db.example/app",
        REACHGRAPH_DATA_DIR: dataDir,
      }),
      log.logger,
    );
    expect(statSync(path.join(dataDir, SECRETS_FILE)).isFile()).toBe(true);
    const warnings = log.lines().filter((l) => l.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.msg).toContain("DATABASE_URL is set without TOKENIZATION_KEY/ENCRYPTION_KEYS");
  });

  it("validates an edited file like the environment, naming the file", () => {
    const dataDir = freshDataDir();
    const config = loadConfig({ NODE_ENV: "test", REACHGRAPH_DATA_DIR: dataDir });
    loadSecrets(config, memoryLogger().logger);
    const file = path.join(dataDir, SECRETS_FILE);
    const contents = JSON.parse(readFileSync(file, "utf8")) as Record<string, string>;
    writeFileSync(file, JSON.stringify({ ...contents, ENCRYPTION_KEY_ID: "nope" }), { mode: 0o600 });
    expect(() => loadSecrets(config, memoryLogger().logger)).toThrow(
      new RegExp(
        `Invalid key configuration in ${file.replaceAll("/", "\\/")}:\\n  ENCRYPTION_KEY_ID: "nope"`,
      ),
    );
    writeFileSync(file, "{ not json", { mode: 0o600 });
    expect(() => loadSecrets(config, memoryLogger().logger)).toThrow(/cannot be read as JSON.*Restore it/);
  });

  it("warns when the file is readable by others", () => {
    const dataDir = freshDataDir();
    const config = loadConfig({ NODE_ENV: "test", REACHGRAPH_DATA_DIR: dataDir });
    loadSecrets(config, memoryLogger().logger);
    const file = path.join(dataDir, SECRETS_FILE);
    chmodSync(file, 0o644);
    const log = memoryLogger();
    loadSecrets(config, log.logger);
    expect(log.lines().some((l) => l.level === 40 && l.msg.includes("chmod 600"))).toBe(true);
  });
});

describe("getSecrets / useSecrets / generateSecrets", () => {
  it("loads the suite's keys from the environment (vitest.config.ts test.env) once, until reset", () => {
    const first = getSecrets();
    expect(first.encryption.current.id).toBe("test-1");
    expect(getSecrets()).toBe(first);
    const other: Secrets = generateSecrets();
    useSecrets(other);
    expect(getSecrets()).toBe(other);
    useSecrets(undefined);
    expect(getSecrets()).not.toBe(other);
    expect(getSecrets().encryption.current.id).toBe("test-1");
  });

  it("generates distinct 32-byte keys each time", () => {
    const a = generateSecrets();
    const b = generateSecrets();
    expect(a.tokenization.current.key).toHaveLength(32);
    expect(a.encryption.current.key).toHaveLength(32);
    expect(a.tokenization.current.key.equals(b.tokenization.current.key)).toBe(false);
    expect(a.encryption.current.key.equals(b.encryption.current.key)).toBe(false);
    expect(a.encryption.all.get(a.encryption.current.id)).toEqual(a.encryption.current.key);
  });
});
