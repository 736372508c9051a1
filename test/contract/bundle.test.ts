import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { chromium } from "playwright-core";
import { describe, expect, it } from "vitest";
import { BUNDLE_CSP, buildBundle, writeBundle } from "../../src/contract/bundle.js";
import { generatedContracts } from "../../src/contract/contracts.js";
import { exampleFor } from "../../src/contract/examples.js";

/** contract:bundle: the OpenAPI document with examples that validate, and an HTML reference that opens offline. */
// biome-ignore lint/suspicious/noExplicitAny: the tests walk an OpenAPI document freely
type Doc = any;
const contracts = generatedContracts();
const files = buildBundle(contracts);
const bundled: Doc = JSON.parse(files.get("openapi.json") ?? "null");
const html = files.get("index.html") ?? "";
const METHODS = ["get", "put", "post", "delete", "patch"];

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema({ $id: "https://reachgraph.dev/openapi.json", components: bundled.components });
const compiled = new Map<string, ValidateFunction>();
function validator(schema: unknown): ValidateFunction {
  const text = JSON.stringify(schema).replaceAll(
    '"#/components/',
    '"https://reachgraph.dev/openapi.json#/components/',
  );
  let validate = compiled.get(text);
  if (!validate) {
    validate = ajv.compile(JSON.parse(text));
    compiled.set(text, validate);
  }
  return validate;
}

/** Every place an example belongs, with the schema it must satisfy. */
function exampleSites(): { where: string; example: unknown; schema: unknown }[] {
  const sites: { where: string; example: unknown; schema: unknown }[] = [];
  for (const [p, item] of Object.entries<Doc>(bundled.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const at = `${method.toUpperCase()} ${p}`;
      for (const param of op.parameters ?? []) {
        sites.push({
          where: `${at} ${param.in} ${param.name}`,
          example: param.example,
          schema: param.schema,
        });
      }
      for (const [type, media] of Object.entries<Doc>(op.requestBody?.content ?? {})) {
        sites.push({ where: `${at} request ${type}`, example: media.example, schema: media.schema });
      }
      for (const [status, response] of Object.entries<Doc>(op.responses)) {
        for (const [type, media] of Object.entries<Doc>(response.content ?? {})) {
          if (!media.schema) continue;
          sites.push({ where: `${at} ${status} ${type}`, example: media.example, schema: media.schema });
        }
      }
    }
  }
  return sites;
}

describe("the bundled OpenAPI document", () => {
  it("is the generated document plus examples, nothing else changed", () => {
    const strip = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(strip);
      if (typeof value !== "object" || value === null) return value;
      return Object.fromEntries(
        Object.entries(value)
          .filter(([k]) => k !== "example")
          .map(([k, v]) => [k, strip(v)]),
      );
    };
    expect(strip(bundled)).toEqual(strip(contracts.openapi));
  });

  it("has an example on every parameter, request body and response body, and each one validates", () => {
    const sites = exampleSites();
    expect(sites.length).toBeGreaterThan(500);
    const missing = sites.filter((s) => s.example === undefined).map((s) => s.where);
    expect(missing).toEqual([]);
    const invalid = sites
      .filter((s) => !validator(s.schema)(s.example))
      .map((s) => `${s.where}: ${JSON.stringify(validator(s.schema).errors?.slice(0, 2))}`);
    expect(invalid).toEqual([]);
  });

  it("gives problem examples their status and problem type", () => {
    const gone =
      bundled.paths["/api/v1/leads"].get.responses["410"].content["application/problem+json"].example;
    expect(gone).toMatchObject({ type: "https://reachgraph.dev/problems/gone", status: 410, title: "Gone" });
  });

  it("carries the GraphQL SDL as generated", () => {
    expect(files.get("schema.graphql")).toBe(contracts.graphql);
  });
});

describe("the bundled HTML reference", () => {
  it("is self-contained: no external script, style, font or image, and a policy that forbids every request", () => {
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="${BUNDLE_CSP}">`);
    expect(BUNDLE_CSP).toMatch(/default-src 'none'/);
    expect(BUNDLE_CSP).toMatch(/connect-src 'none'/);
    expect(html).not.toMatch(/<script[^>]*\ssrc=/i);
    expect(html).not.toMatch(/<link\b/i);
    expect(html).not.toMatch(/@import/);
    const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]).join("");
    expect(styles.length).toBeGreaterThan(10_000);
    expect(styles).not.toMatch(/url\(\s*(?!["']?data:)/);
    expect(html).not.toMatch(/sourceMappingURL/);
    // The document is in the page: every operation id is there.
    for (const item of Object.values<Doc>(bundled.paths)) {
      for (const method of METHODS) if (item[method]) expect(html).toContain(`"${item[method].operationId}"`);
    }
  });

  it("is written to the output folder with the document and the SDL", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "reachgraph-bundle-"));
    const written = writeBundle(path.join(dir, "contract"), files);
    expect(written.map((f) => path.basename(f)).sort()).toEqual([
      "index.html",
      "openapi.json",
      "schema.graphql",
    ]);
    expect(readFileSync(path.join(dir, "contract", "index.html"), "utf8")).toBe(html);
  });

  const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
  const hasChromium = existsSync(CHROMIUM);
  if (!hasChromium)
    console.log(`[bundle browser check] skipped: no Chromium at ${CHROMIUM} (scripts/install-chromium.sh)`);

  it.skipIf(!hasChromium)(
    "opens from a file in headless Chromium with no request leaving the page",
    async () => {
      const dir = await mkdtemp(path.join(tmpdir(), "reachgraph-bundle-"));
      const profile = await mkdtemp(path.join(tmpdir(), "reachgraph-chromium-"));
      writeBundle(dir, files);
      const browser = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: [
          "--no-sandbox",
          "--disable-gpu",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--no-first-run",
        ],
      });
      try {
        const page = await browser.newPage();
        const requests: string[] = [];
        const problems: string[] = [];
        page.on("request", (r) => requests.push(r.url()));
        page.on("pageerror", (e) => problems.push(e.message));
        page.on("console", (m) => {
          if (m.type() === "error") problems.push(m.text());
        });
        const url = pathToFileURL(path.join(dir, "index.html")).href;
        await page.goto(url, { waitUntil: "load" });
        await page.locator(".opblock").first().waitFor({ timeout: 120_000 });
        const operations = await page.locator(".opblock").count();
        const expected = Object.values<Doc>(bundled.paths).reduce(
          (n, item) => n + METHODS.filter((m) => item[m]).length,
          0,
        );
        expect(operations).toBe(expected);
        // Opening an operation resolves its schemas and shows the generated example.
        await page.locator(".opblock-summary", { hasText: "/api/v2/campaigns" }).first().click();
        await page.locator(".opblock.is-open .example").first().waitFor({ timeout: 120_000 });
        expect(await page.locator(".errors-wrapper").count()).toBe(0);
        expect(await page.locator(".opblock.is-open").textContent()).toContain('"send_window"');
        expect(requests).toEqual([url]);
        expect(problems).toEqual([]);
      } finally {
        await browser.close();
        await rm(profile, { recursive: true, force: true });
        await rm(dir, { recursive: true, force: true });
      }
    },
    // Swagger UI takes a while over a 1 MB document on a busy 2-core machine: generous limits, no timing asserted.
    300_000,
  );
});

describe("generated examples", () => {
  it.each([
    [{ type: "number", exclusiveMinimum: 0, maximum: 0.2 }],
    [{ type: "number", minimum: 2, maximum: 3 }],
    [{ type: "integer", exclusiveMinimum: 4, exclusiveMaximum: 9 }],
    [{ type: "number", exclusiveMaximum: 0 }],
  ])("a number example lies within %j", (schema) => {
    const ajv = new Ajv2020({ strict: false });
    expect(ajv.validate(schema, exampleFor({}, schema))).toBe(true);
  });
});
