import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import type { Contracts } from "./contracts.js";
import { withExamples } from "./examples.js";
import { record } from "./json-ref.js";

/**
 * `npm run contract:bundle`: what an API portal (Stoplight, SwaggerHub, …) imports, since publishing to one needs
 * the internet: the OpenAPI document with an example on every parameter and body, the GraphQL SDL, and one
 * self-contained HTML page that renders the REST reference with Swagger UI — styles, script and document inlined,
 * and a Content-Security-Policy that forbids every request, so it opens from a file with no network.
 */
const require = createRequire(import.meta.url);
const SWAGGER_UI_DIR = path.dirname(require.resolve("swagger-ui-dist/package.json"));

/** The policy the page runs under: nothing may load from anywhere; inline code and data: images only. */
export const BUNDLE_CSP =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; font-src data:; connect-src 'none'; form-action 'none'";

/** Inlined text must not close its element early. */
function inlineScript(source: string): string {
  return source.replace(/^\/\/# sourceMappingURL=.*$/gm, "").replace(/<\/(script)/gi, "<\\/$1");
}

export function renderReferenceHtml(openapi: unknown): string {
  const info = record(record(openapi)?.info) ?? {};
  const title = `${String(info.title ?? "API")} ${String(info.version ?? "")}`.trim();
  const css = readFileSync(path.join(SWAGGER_UI_DIR, "swagger-ui.css"), "utf8")
    .replace(/\/\*# sourceMappingURL=.*?\*\//g, "")
    .replace(/<\/(style)/gi, "<\\/$1");
  const js = inlineScript(readFileSync(path.join(SWAGGER_UI_DIR, "swagger-ui-bundle.js"), "utf8"));
  // JSON in a data block, `<` escaped so no `</script>` inside a string can end the block. The <base> gives the page an
  // http(s) address: under file:// Swagger UI's resolver takes `#/components/…` for another file and fails to read it;
  // under an http one it resolves them in the document, without a request (which the policy would refuse anyway).
  const spec = JSON.stringify(openapi).replace(/</g, "\\u003c");
  const escapeHtml = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${BUNDLE_CSP}">
<base href="https://reachgraph.invalid/">
<title>${escapeHtml(title)}</title>
<style>${css}</style>
</head>
<body>
<div id="swagger-ui"></div>
<script type="application/json" id="openapi-document">${spec}</script>
<script>${js}</script>
<script>
window.ui = SwaggerUIBundle({
  spec: JSON.parse(document.getElementById("openapi-document").textContent),
  dom_id: "#swagger-ui",
  deepLinking: false,
  validatorUrl: null,
  // A file has no server to try requests against.
  supportedSubmitMethods: []
});
</script>
</body>
</html>
`;
}

/** The bundle's files, by name. */
export function buildBundle(contracts: Contracts): Map<string, string> {
  const openapi = withExamples(contracts.openapi);
  return new Map([
    ["openapi.json", `${JSON.stringify(openapi, null, 2)}\n`],
    ["schema.graphql", contracts.graphql],
    ["index.html", renderReferenceHtml(openapi)],
  ]);
}

export function writeBundle(dir: string, files: Map<string, string>): string[] {
  mkdirSync(dir, { recursive: true });
  return [...files].map(([name, text]) => {
    const file = path.join(dir, name);
    writeFileSync(file, text);
    return file;
  });
}
