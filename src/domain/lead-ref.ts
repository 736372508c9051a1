import { createCipheriv, createDecipheriv, createHmac } from "node:crypto";
import { getSecrets } from "../compliance/secrets.js";

/**
 * The opaque reference by which the read-only GraphQL side names one lead (`lineage(leadRef:)`), since GraphQL carries
 * no lead id or PII. It is the lead's 16-byte UUID encrypted as one AES-256 block under a key derived from the current
 * tokenization key: a keyed permutation, so it is stable, reveals nothing without the key, cannot be forged into a
 * lead's reference, and decodes back to the id without a lookup table or a stored column. A ref made under an earlier
 * tokenization key stops resolving after a rotation (ask REST `GET /api/v2/leads/{id}/lineage` for the current one).
 * Single-block ECB is sound here: the input is exactly one block and unique per lead.
 */
const PREFIX = "lr_";

function refKey(): Buffer {
  return createHmac("sha256", getSecrets().tokenization.current.key).update("lead-ref\0v1", "utf8").digest();
}

export function leadRef(leadId: string): string {
  const raw = Buffer.from(leadId.replace(/-/g, ""), "hex");
  if (raw.length !== 16) throw new TypeError("lead id must be a UUID");
  const cipher = createCipheriv("aes-256-ecb", refKey(), null).setAutoPadding(false);
  return PREFIX + Buffer.concat([cipher.update(raw), cipher.final()]).toString("base64url");
}

/** The lead id a ref stands for, or null when it is not a well-formed ref (a wrong one decodes to an unknown id). */
export function leadIdFromRef(ref: string): string | null {
  if (!ref.startsWith(PREFIX)) return null;
  const block = Buffer.from(ref.slice(PREFIX.length), "base64url");
  if (block.length !== 16 || block.toString("base64url") !== ref.slice(PREFIX.length)) return null;
  const decipher = createDecipheriv("aes-256-ecb", refKey(), null).setAutoPadding(false);
  const hex = Buffer.concat([decipher.update(block), decipher.final()]).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
