import { randomBytes } from "node:crypto";
import { fromKeySettings, type Secrets } from "../../src/compliance/secrets.js";

/** Fresh random key material for a test, so that no test depends on the suite's fixed keys. */
export function randomKey(bytes = 32): Buffer {
  return randomBytes(bytes);
}

/** Secrets with the given encryption keys (the current one named) and tokenization keys. */
export function secretsWith(options: {
  encryption?: { keys: Record<string, Buffer>; current: string };
  tokenization?: { current: Buffer; previous?: Buffer[] };
}): Secrets {
  const encryption = options.encryption ?? { keys: { k1: randomKey() }, current: "k1" };
  const tokenization = options.tokenization ?? { current: randomKey() };
  return fromKeySettings({
    tokenization: { current: tokenization.current, previous: tokenization.previous ?? [] },
    encryption: {
      currentKeyId: encryption.current,
      keys: Object.entries(encryption.keys).map(([id, key]) => ({ id, key })),
    },
  });
}
