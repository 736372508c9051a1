import { afterEach, describe, expect, it } from "vitest";
import {
  decryptField,
  encryptedKeyId,
  encryptField,
  FieldDecryptionError,
  isEncrypted,
} from "../../src/compliance/field-encryption.js";
import { useSecrets } from "../../src/compliance/secrets.js";
import { randomKey, secretsWith } from "./keys.js";

afterEach(() => useSecrets(undefined));

const keyA = randomKey();
const keyB = randomKey();
const onlyA = () => secretsWith({ encryption: { keys: { A: keyA }, current: "A" } });

/** The stored value with one of its parts replaced (parts: 0 "enc", 1 version, 2 key id, 3 iv, 4 tag, 5 ciphertext). */
function withPart(stored: string, index: number, change: (part: string) => string): string {
  const parts = stored.split(":");
  parts[index] = change(parts[index] ?? "");
  return parts.join(":");
}

/** Flips one bit of the decoded bytes of a base64url part (a real change of the bytes, still canonical text). */
function flipByte(part: string, at = 0): string {
  const bytes = Buffer.from(part, "base64url");
  bytes[at % bytes.length] = (bytes[at % bytes.length] ?? 0) ^ 0x01;
  return bytes.toString("base64url");
}

function decryptionFailure(stored: string): FieldDecryptionError {
  try {
    decryptField(stored);
  } catch (err) {
    expect(err).toBeInstanceOf(FieldDecryptionError);
    return err as FieldDecryptionError;
  }
  throw new Error("decryptField accepted a value it should refuse");
}

describe("encryptField / decryptField", () => {
  it("round-trips text, including the empty string and non-ASCII", () => {
    useSecrets(onlyA());
    for (const value of ["jane.doe@example.com", "+49 30 1234567", "Zoë Ñúñez 山田", "", "x".repeat(5000)]) {
      expect(decryptField(encryptField(value))).toBe(value);
    }
  });

  it("keeps null and undefined as null", () => {
    useSecrets(onlyA());
    expect(encryptField(null)).toBeNull();
    expect(encryptField(undefined)).toBeNull();
    expect(decryptField(null)).toBeNull();
    expect(decryptField(undefined)).toBeNull();
  });

  it("stores neither the plaintext nor the same text twice (random IV), in the versioned format", () => {
    useSecrets(onlyA());
    const plaintext = "jane.doe@example.com";
    const first = encryptField(plaintext) ?? "";
    const second = encryptField(plaintext) ?? "";
    expect(first).not.toContain(plaintext);
    expect(first).not.toContain("jane");
    expect(first).not.toBe(second);
    expect(first).toMatch(/^enc:v1:A:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]{22}:[A-Za-z0-9_-]+$/);
    expect(first.split(":")[3]).not.toBe(second.split(":")[3]);
  });

  it("returns a value without the enc: prefix as it is (legacy plaintext from before encryption)", () => {
    useSecrets(onlyA());
    expect(decryptField("jane@example.com")).toBe("jane@example.com");
    expect(isEncrypted("jane@example.com")).toBe(false);
    expect(encryptedKeyId("jane@example.com")).toBeNull();
  });

  it("names the key id of an encrypted value", () => {
    useSecrets(onlyA());
    const stored = encryptField("x");
    expect(isEncrypted(stored)).toBe(true);
    expect(encryptedKeyId(stored)).toBe("A");
    expect(isEncrypted(null)).toBe(false);
    expect(encryptedKeyId(null)).toBeNull();
    expect(encryptedKeyId("enc:v1:bad id:a:b:c")).toBeNull();
  });
});

describe("tampering", () => {
  const plaintext = "tamper.target@example.com";

  it.each([
    ["iv", 3],
    ["tag", 4],
    ["ciphertext", 5],
  ])("a changed byte of the %s fails authentication", (_name, index) => {
    useSecrets(onlyA());
    const stored = encryptField(plaintext) ?? "";
    for (const at of [0, 5, 11]) {
      const err = decryptionFailure(withPart(stored, index, (p) => flipByte(p, at)));
      expect(err.reason).toBe("authentication-failed");
      expect(err.keyId).toBe("A");
    }
  });

  it("a key id changed to another configured key fails authentication (the key id is authenticated data)", () => {
    useSecrets(secretsWith({ encryption: { keys: { A: keyA, B: keyB }, current: "A" } }));
    const stored = encryptField(plaintext) ?? "";
    expect(decryptionFailure(withPart(stored, 2, () => "B")).reason).toBe("authentication-failed");
  });

  it("a key id changed to an unknown one is an unknown key", () => {
    useSecrets(onlyA());
    const stored = encryptField(plaintext) ?? "";
    const err = decryptionFailure(withPart(stored, 2, () => "Z"));
    expect(err.reason).toBe("unknown-key");
    expect(err.message).toContain('"Z"');
  });

  it("a value of another format version is refused", () => {
    useSecrets(onlyA());
    const stored = encryptField(plaintext) ?? "";
    expect(decryptionFailure(withPart(stored, 1, () => "v2")).reason).toBe("unsupported-version");
  });

  it("a truncated tag is refused (GCM would otherwise accept a short tag)", () => {
    useSecrets(onlyA());
    const stored = encryptField(plaintext) ?? "";
    const short = withPart(stored, 4, (p) =>
      Buffer.from(p, "base64url").subarray(0, 12).toString("base64url"),
    );
    expect(decryptionFailure(short).reason).toBe("malformed");
    const shortIv = withPart(stored, 3, (p) =>
      Buffer.from(p, "base64url").subarray(0, 8).toString("base64url"),
    );
    expect(decryptionFailure(shortIv).reason).toBe("malformed");
  });

  it("text that is not canonical base64url is refused even when it would decode to the same bytes", () => {
    useSecrets(onlyA());
    const stored = encryptField(plaintext) ?? "";
    // The tag is 16 bytes = 22 characters whose last carries 4 unused bits: a different last character can decode
    // to the same bytes. Strict decoding refuses it (and stray characters) as malformed.
    const tag = stored.split(":")[4] ?? "";
    const last = tag.at(-1) ?? "A";
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const sibling = alphabet[(alphabet.indexOf(last) & ~0x0f) | ((alphabet.indexOf(last) + 1) & 0x0f)] ?? "A";
    const nonCanonical = withPart(stored, 4, (p) => `${p.slice(0, -1)}${sibling}`);
    expect(Buffer.from(nonCanonical.split(":")[4] ?? "", "base64url")).toEqual(Buffer.from(tag, "base64url"));
    expect(decryptionFailure(nonCanonical).reason).toBe("malformed");
    expect(decryptionFailure(withPart(stored, 5, (p) => `${p}=`)).reason).toBe("malformed");
    expect(decryptionFailure(withPart(stored, 5, (p) => `${p.slice(0, 2)}+${p.slice(3)}`)).reason).toBe(
      "malformed",
    );
  });

  it("a value with the prefix but not the shape is malformed, not plaintext", () => {
    useSecrets(onlyA());
    const stored = encryptField(plaintext) ?? "";
    expect(decryptionFailure("enc:").reason).toBe("malformed");
    expect(decryptionFailure(stored.split(":").slice(0, 5).join(":")).reason).toBe("malformed");
    expect(decryptionFailure(`${stored}:extra`).reason).toBe("malformed");
  });

  it("never quotes the plaintext or the stored value in an error", () => {
    useSecrets(onlyA());
    const stored = encryptField(plaintext) ?? "";
    const tampered = [
      withPart(stored, 5, (p) => flipByte(p)),
      withPart(stored, 2, () => "Z"),
      withPart(stored, 4, (p) => p.slice(0, 10)),
    ];
    for (const value of tampered) {
      const err = decryptionFailure(value);
      expect(err.message).not.toContain(plaintext);
      for (const part of value.split(":").slice(3)) expect(err.message).not.toContain(part);
    }
  });
});

describe("rotation", () => {
  it("reads values under the old key while it is configured; new values use the current key", () => {
    useSecrets(onlyA());
    const underA = encryptField("rotated@example.com");
    useSecrets(secretsWith({ encryption: { keys: { A: keyA, B: keyB }, current: "B" } }));
    expect(decryptField(underA)).toBe("rotated@example.com");
    const underB = encryptField("new@example.com");
    expect(encryptedKeyId(underB)).toBe("B");
    expect(decryptField(underB)).toBe("new@example.com");
  });

  it("says which key id is missing once the old key is removed", () => {
    useSecrets(onlyA());
    const underA = encryptField("gone@example.com") ?? "";
    useSecrets(secretsWith({ encryption: { keys: { B: keyB }, current: "B" } }));
    const err = decryptionFailure(underA);
    expect(err.reason).toBe("unknown-key");
    expect(err.keyId).toBe("A");
    expect(err.message).toContain('key id "A"');
    expect(err.message).toContain("B");
    expect(err.message).not.toContain("gone@example.com");
  });

  it("a different key under the same id fails authentication rather than returning garbage", () => {
    useSecrets(onlyA());
    const underA = encryptField("same-id@example.com") ?? "";
    useSecrets(secretsWith({ encryption: { keys: { A: keyB }, current: "A" } }));
    expect(decryptionFailure(underA).reason).toBe("authentication-failed");
  });
});
