import { afterEach, describe, expect, it } from "vitest";
import { decryptField, encryptField } from "../../src/compliance/field-encryption.js";
import { useSecrets } from "../../src/compliance/secrets.js";
import { domainToken, emailToken } from "../../src/compliance/tokens.js";
import { createLogger, PII_FIELDS } from "../../src/logger.js";
import { randomKey, secretsWith } from "./keys.js";

afterEach(() => useSecrets(undefined));

/** A logger like the app's (same redaction), writing into memory. */
function memoryLogger() {
  const lines: string[] = [];
  const logger = createLogger("info", "test", { write: (s: string) => lines.push(s) });
  return { logger, output: () => lines.join("") };
}

describe("log redaction", () => {
  it.each(PII_FIELDS)("censors %s at the top level and one level down", (field) => {
    const { logger, output } = memoryLogger();
    logger.info({ [field]: `top-${field}-value` }, "top");
    logger.info({ lead: { [field]: `nested-${field}-value` } }, "nested");
    expect(output()).not.toContain(`top-${field}-value`);
    expect(output()).not.toContain(`nested-${field}-value`);
    expect(output()).toContain('"[redacted]"');
  });

  it("censors a person's details in a lead-shaped object but keeps what is not on the list", () => {
    const { logger, output } = memoryLogger();
    const lead = {
      id: "7f1c0a52-0000-4000-8000-000000000001",
      contact_email: "jane.doe@acme.example",
      email: "jane@acme.example",
      contact_name: "Jane Doe",
      contact_phone: "+49 30 1234567",
      phone: "+49 30 7654321",
      body: "Hi Jane, about your website…",
      subject: "Quick idea for Jane",
      industry: "dentist",
    };
    logger.info({ lead, ...lead }, "ingested");
    const out = output();
    for (const value of [
      "jane.doe@acme.example",
      "jane@acme.example",
      "Jane Doe",
      "+49 30",
      "Hi Jane",
      "for Jane",
    ]) {
      expect(out).not.toContain(value);
    }
    // Fields not on the list still show: the test would pass vacuously if nothing were logged at all.
    expect(out).toContain("dentist");
    expect(out).toContain("7f1c0a52-0000-4000-8000-000000000001");
    expect(out).toContain('"msg":"ingested"');
  });

  it("censors ciphertexts and tokens too (no log line needs them: the lead id says which row)", () => {
    useSecrets(secretsWith({}));
    const { logger, output } = memoryLogger();
    const stored = encryptField("jane@acme.example") ?? "";
    const tokens = {
      email_token: emailToken("jane@acme.example"),
      domain_token: domainToken("acme.example"),
    };
    logger.info({ contact_email: stored, ...tokens, row: { contact_email: stored, ...tokens } }, "stored");
    const out = output();
    expect(out).not.toContain(stored.split(":")[5]);
    expect(out).not.toContain(tokens.email_token);
    expect(out).not.toContain(tokens.domain_token);
  });

  it("a decryption failure logged as an error carries the key id and reason, not the value", () => {
    useSecrets(secretsWith({ encryption: { keys: { old: randomKey() }, current: "old" } }));
    const stored = encryptField("secret.person@acme.example") ?? "";
    useSecrets(secretsWith({ encryption: { keys: { new: randomKey() }, current: "new" } }));
    const { logger, output } = memoryLogger();
    try {
      decryptField(stored);
      expect.unreachable("decryptField should have thrown");
    } catch (err) {
      logger.error({ err }, "reading a lead failed");
    }
    const out = output();
    expect(out).toContain("FieldDecryptionError");
    expect(out).toContain('\\"old\\"');
    expect(out).not.toContain("secret.person");
    for (const part of stored.split(":").slice(3)) expect(out).not.toContain(part);
  });
});
