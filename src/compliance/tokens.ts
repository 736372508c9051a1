import { createHmac } from "node:crypto";
import { domainToASCII } from "node:url";
import { getSecrets } from "./secrets.js";

/**
 * Tokens: keyed, stable stand-ins for a person's email address or a company's domain (spec §5 "tokenization for
 * email addresses in analytics"). A token is HMAC-SHA256 under the tokenization key — not a plain hash, which anyone
 * could recompute from a list of addresses — so the same address always gives the same token (dedupe, suppression,
 * joins in analytics) while the address cannot be read back or guessed without the key. They are blind indexes for
 * the encrypted contact columns (docs/decisions/encryption-scope.md).
 *
 * Tokens are still personal data under the GDPR (pseudonymous, not anonymous): they are not logged, and an erased
 * lead keeps one only where the erasure rules say so (suppression).
 */
export type TokenKind = "email" | "domain";

/**
 * Trimmed, Unicode NFC, lower-cased; an internationalised domain part in its ASCII (punycode) form.
 * Dots and `+tags` in the local part are kept: whether they matter is the mailbox provider's rule (Gmail ignores dots,
 * most providers do not), so stripping them would merge distinct people's addresses, and an address someone asked us
 * to suppress must be suppressed as given. Lower-casing the local part is the one liberty taken: RFC 5321 allows
 * case-sensitive local parts, but no real provider distinguishes them, and scraped addresses come in every case.
 */
export function normalizeEmail(s: string): string {
  const email = s.trim().normalize("NFC").toLowerCase();
  const at = email.lastIndexOf("@");
  if (at < 0) return email;
  const domain = email.slice(at + 1);
  const ascii = /[^\p{ASCII}]/u.test(domain) ? domainToASCII(domain) || domain : domain;
  return `${email.slice(0, at + 1)}${ascii.replace(/\.+$/, "")}`;
}

/**
 * A company's domain from a bare host or a URL: trimmed, lower-cased, without scheme, credentials, port, path, query,
 * a leading `www.` or a trailing dot; internationalised names in ASCII (punycode) form, as WHATWG URL parsing gives.
 * "https://www.Example.com:8443/about?x" and " example.COM. " both give "example.com".
 */
export function normalizeDomain(s: string): string {
  const text = s.trim().toLowerCase();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//.test(text) ? text : `http://${text.replace(/^\/+/, "")}`;
  let host: string;
  try {
    host = new URL(withScheme).hostname;
  } catch {
    // Not a parseable URL (spaces, stray characters): take the host part by hand.
    host = text
      .replace(/^[a-z][a-z0-9+.-]*:\/\//, "")
      .replace(/^[^/?#]*@/, "")
      .replace(/[/?#].*$/, "")
      .replace(/:\d*$/, "");
  }
  return host.replace(/\.+$/, "").replace(/^www\./, "");
}

function normalized(kind: TokenKind, value: string): string {
  const n = kind === "email" ? normalizeEmail(value) : normalizeDomain(value);
  // One token shared by every empty value would link unrelated rows: refuse instead (the message names no value).
  if (n === "") throw new TypeError(`cannot tokenize an empty ${kind}`);
  return n;
}

/** The kind is part of the HMAC input, so an email and a domain never share a token even for the same text. */
function tokenUnder(key: Buffer, kind: TokenKind, normalizedValue: string): string {
  return createHmac("sha256", key).update(`${kind}\0`, "utf8").update(normalizedValue, "utf8").digest("hex");
}

/** The email's token under the current tokenization key: 64 hex characters. Throws TypeError for an empty email. */
export function emailToken(email: string): string {
  return tokenUnder(getSecrets().tokenization.current.key, "email", normalized("email", email));
}

/** The domain's token under the current tokenization key: 64 hex characters. Throws TypeError for an empty domain. */
export function domainToken(domain: string): string {
  return tokenUnder(getSecrets().tokenization.current.key, "domain", normalized("domain", domain));
}

/**
 * The value's tokens under the current and every previous tokenization key (current first, no duplicates): what a
 * suppression lookup must match, since a suppression made before a rotation holds a token under an older key.
 */
export function lookupTokens(kind: TokenKind, value: string): string[] {
  const n = normalized(kind, value);
  const { current, previous } = getSecrets().tokenization;
  return [...new Set([current, ...previous].map((k) => tokenUnder(k.key, kind, n)))];
}

/** The id of the current tokenization key (first 8 hex digits of its SHA-256), recorded next to stored tokens. */
export function tokenKeyId(): string {
  return getSecrets().tokenization.current.id;
}
