import { createHash, createHmac } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { useSecrets } from "../../src/compliance/secrets.js";
import {
  domainToken,
  emailToken,
  lookupTokens,
  normalizeDomain,
  normalizeEmail,
  tokenKeyId,
} from "../../src/compliance/tokens.js";
import { randomKey, secretsWith } from "./keys.js";

afterEach(() => useSecrets(undefined));

const keyA = randomKey();
const keyB = randomKey();
const keyC = randomKey();
const withTokenKeys = (current: Buffer, previous: Buffer[] = []) =>
  useSecrets(secretsWith({ tokenization: { current, previous } }));

/** The documented construction, computed independently: HMAC-SHA256(key, kind NUL normalized value), hex. */
const expected = (key: Buffer, kind: string, value: string) =>
  createHmac("sha256", key).update(`${kind}\u0000${value}`).digest("hex");

describe("normalizeEmail", () => {
  it("trims and lower-cases", () => {
    expect(normalizeEmail(" Jane@Example.COM ")).toBe("jane@example.com");
    expect(normalizeEmail("\tJANE@EXAMPLE.COM\n")).toBe("jane@example.com");
  });

  it("keeps dots and plus tags (provider-specific meaning)", () => {
    expect(normalizeEmail("Jane.Doe+News@example.com")).toBe("jane.doe+news@example.com");
    expect(normalizeEmail("j.a.n.e@gmail.com")).not.toBe(normalizeEmail("jane@gmail.com"));
  });

  it("writes an internationalised domain part in ASCII and drops a trailing dot", () => {
    expect(normalizeEmail("anna@München.de")).toBe("anna@xn--mnchen-3ya.de");
    expect(normalizeEmail("anna@xn--mnchen-3ya.de.")).toBe("anna@xn--mnchen-3ya.de");
  });
});

describe("normalizeDomain", () => {
  it.each([
    ["https://www.Example.com/path", "example.com"],
    ["example.com", "example.com"],
    [" EXAMPLE.com. ", "example.com"],
    ["www.example.com/about?x=1#top", "example.com"],
    ["http://user:secret@www.example.com:8443/a", "example.com"],
    ["example.com:8080", "example.com"],
    ["//cdn.example.com/x", "cdn.example.com"],
    ["https://shop.example.co.uk", "shop.example.co.uk"],
    ["münchen.de", "xn--mnchen-3ya.de"],
    ["exa mple.com/x", "exa mple.com"],
  ])("%s → %s", (input, output) => {
    expect(normalizeDomain(input)).toBe(output);
  });
});

describe("emailToken / domainToken", () => {
  it("is the documented HMAC under the current key: 64 hex characters", () => {
    withTokenKeys(keyA);
    expect(emailToken("jane@example.com")).toBe(expected(keyA, "email", "jane@example.com"));
    expect(domainToken("example.com")).toBe(expected(keyA, "domain", "example.com"));
    expect(emailToken("jane@example.com")).toMatch(/^[0-9a-f]{64}$/);
  });

  it("is stable across calls and equal for equivalent spellings", () => {
    withTokenKeys(keyA);
    expect(emailToken(" Jane@Example.COM ")).toBe(emailToken("jane@example.com"));
    expect(emailToken("jane@example.com")).toBe(emailToken("jane@example.com"));
    expect(domainToken("https://www.Example.com/path")).toBe(domainToken("example.com"));
    expect(emailToken("jane+news@example.com")).not.toBe(emailToken("jane@example.com"));
  });

  it("differs across keys", () => {
    withTokenKeys(keyA);
    const underA = emailToken("jane@example.com");
    withTokenKeys(keyB);
    expect(emailToken("jane@example.com")).not.toBe(underA);
  });

  it("never gives an email and a domain the same token", () => {
    withTokenKeys(keyA);
    expect(emailToken("example.com")).not.toBe(domainToken("example.com"));
    expect(lookupTokens("email", "example.com")).not.toEqual(lookupTokens("domain", "example.com"));
  });

  it("refuses an empty value instead of giving every empty value one shared token", () => {
    withTokenKeys(keyA);
    expect(() => emailToken("   ")).toThrow(TypeError);
    expect(() => domainToken("")).toThrow(TypeError);
    expect(() => lookupTokens("email", " ")).toThrow(TypeError);
  });
});

describe("lookupTokens and key ids", () => {
  it("covers the current key first, then every previous key", () => {
    withTokenKeys(keyC, [keyB, keyA]);
    expect(lookupTokens("email", " Jane@Example.com")).toEqual([
      expected(keyC, "email", "jane@example.com"),
      expected(keyB, "email", "jane@example.com"),
      expected(keyA, "email", "jane@example.com"),
    ]);
    expect(lookupTokens("domain", "www.example.com")[0]).toBe(domainToken("example.com"));
  });

  it("finds a token made before a rotation", () => {
    withTokenKeys(keyA);
    const before = emailToken("suppressed@example.com");
    withTokenKeys(keyB, [keyA]);
    expect(emailToken("suppressed@example.com")).not.toBe(before);
    expect(lookupTokens("email", "suppressed@example.com")).toContain(before);
  });

  it("with no previous keys, is the current token alone", () => {
    withTokenKeys(keyA);
    expect(lookupTokens("email", "jane@example.com")).toEqual([emailToken("jane@example.com")]);
  });

  it("names the current key by the first 8 hex digits of its SHA-256", () => {
    withTokenKeys(keyA, [keyB]);
    expect(tokenKeyId()).toBe(createHash("sha256").update(keyA).digest("hex").slice(0, 8));
    withTokenKeys(keyB, [keyA]);
    expect(tokenKeyId()).toBe(createHash("sha256").update(keyB).digest("hex").slice(0, 8));
  });
});
