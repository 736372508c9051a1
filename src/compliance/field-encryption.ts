import { createCipheriv, createDecipheriv, randomFillSync } from "node:crypto";
import { getSecrets } from "./secrets.js";

/**
 * Column-level application encryption for contact PII (leads.contact_email, contact_phone, contact_name): AES-256-GCM
 * (node:crypto) with a random 96-bit IV per value. The stored text is
 *
 *     enc:v1:<keyId>:<iv>:<tag>:<ciphertext>        (base64url, no padding; fits a TEXT column)
 *
 * and "enc:v1:<keyId>" is the additional authenticated data, so neither the version nor the key id can be changed
 * without the tag failing. The key id says which of ENCRYPTION_KEYS decrypts it: values written before a rotation
 * keep reading while their key stays configured, and `npm run keys:rotate` rewrites them under the current key.
 * Why column-level and what is left out: docs/decisions/encryption-scope.md.
 */
const PREFIX = "enc:";
const VERSION = "v1";
const ALGORITHM = "aes-256-gcm";
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

export type FieldDecryptionFailure =
  | "malformed"
  | "unsupported-version"
  | "unknown-key"
  | "authentication-failed";

/**
 * A stored value that cannot be decrypted. The message says why and which key id it names, never the value or any
 * part of it, so it is safe to log.
 */
export class FieldDecryptionError extends Error {
  override name = "FieldDecryptionError";
  constructor(
    readonly reason: FieldDecryptionFailure,
    message: string,
    /** The key id the value names, when it names a well-formed one. */
    readonly keyId?: string,
  ) {
    super(message);
  }
}

function header(keyId: string): string {
  return `${PREFIX}${VERSION}:${keyId}`;
}

/**
 * IVs are drawn from a pool of CSPRNG bytes refilled 4096 IVs at a time: a synchronous randomBytes(12) per value
 * costs about as much as the encryption itself. Each slice of the pool is used once.
 */
const IV_POOL = Buffer.alloc(IV_BYTES * 4096);
let ivOffset = IV_POOL.length;
function nextIv(): Buffer {
  if (ivOffset === IV_POOL.length) {
    randomFillSync(IV_POOL);
    ivOffset = 0;
  }
  const iv = Buffer.from(IV_POOL.subarray(ivOffset, ivOffset + IV_BYTES)); // a copy: the pool is refilled later
  ivOffset += IV_BYTES;
  return iv;
}

/** The encrypted form of a value under the current key; null and undefined stay null (no value to protect). */
export function encryptField(plaintext: string | null | undefined): string | null {
  if (plaintext === null || plaintext === undefined) return null;
  const { current } = getSecrets().encryption;
  const aad = header(current.id);
  const iv = nextIv();
  const cipher = createCipheriv(ALGORITHM, current.key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aad, "utf8"));
  const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  const b64 = (b: Buffer) => b.toString("base64url");
  return `${aad}:${b64(iv)}:${b64(cipher.getAuthTag())}:${b64(ciphertext)}`;
}

/**
 * The plaintext of a stored value. A value without the `enc:` prefix is returned as it is: it is legacy plaintext
 * written before field encryption existed (an upgraded database holds such rows until `npm run keys:rotate` has
 * encrypted them). Anything with the prefix must decrypt or throws FieldDecryptionError: a changed byte anywhere, a
 * version this code does not know, or a key id not in ENCRYPTION_KEYS.
 */
export function decryptField(stored: string | null | undefined): string | null {
  if (stored === null || stored === undefined) return null;
  if (!isEncrypted(stored)) return stored;
  const parts = stored.split(":");
  if (parts.length !== 6) throw malformed("it does not have the six parts of enc:v1:keyId:iv:tag:ciphertext");
  const [, version = "", keyId = "", ivText = "", tagText = "", ciphertextText = ""] = parts;
  if (version !== VERSION) {
    throw new FieldDecryptionError(
      "unsupported-version",
      `encrypted field has format version "${version.slice(0, 8)}", this code reads ${VERSION}`,
    );
  }
  if (!KEY_ID.test(keyId)) throw malformed("its key id is not a valid key id");
  const { all } = getSecrets().encryption;
  const key = all.get(keyId);
  if (!key) {
    throw new FieldDecryptionError(
      "unknown-key",
      `encrypted field names key id "${keyId}", which is not in ENCRYPTION_KEYS (configured: ${[...all.keys()].join(", ")}); ` +
        "add that key back to decrypt it",
      keyId,
    );
  }
  const iv = decodePart(ivText, "iv", keyId);
  const tag = decodePart(tagText, "tag", keyId);
  const ciphertext = decodePart(ciphertextText, "ciphertext", keyId);
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) {
    throw malformed(`its iv or tag has the wrong length`, keyId);
  }
  try {
    const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(header(keyId), "utf8"));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString("utf8");
  } catch {
    throw new FieldDecryptionError(
      "authentication-failed",
      `encrypted field under key id "${keyId}" failed authentication (altered, or encrypted under a different key with that id)`,
      keyId,
    );
  }
}

/** True when the stored value is in the encrypted format (by its prefix), false for null and legacy plaintext. */
export function isEncrypted(stored: string | null | undefined): boolean {
  return typeof stored === "string" && stored.startsWith(PREFIX);
}

/** The key id an encrypted value names; null for null, legacy plaintext, or a value too malformed to name one. */
export function encryptedKeyId(stored: string | null | undefined): string | null {
  if (!isEncrypted(stored)) return null;
  const parts = (stored as string).split(":");
  const keyId = parts[2];
  return parts.length === 6 && keyId !== undefined && KEY_ID.test(keyId) ? keyId : null;
}

function malformed(why: string, keyId?: string): FieldDecryptionError {
  return new FieldDecryptionError("malformed", `encrypted field is malformed: ${why}`, keyId);
}

/** Strict base64url: only canonical text is accepted, so no two stored strings decode to the same bytes. */
function decodePart(text: string, name: string, keyId: string): Buffer {
  const bytes = BASE64URL.test(text) ? Buffer.from(text, "base64url") : undefined;
  if (!bytes || bytes.toString("base64url") !== text) throw malformed(`its ${name} is not base64url`, keyId);
  return bytes;
}
