import { createRequire } from "node:module";
import path from "node:path";
import express, { type Router } from "express";
import type { OpenApiDocument } from "./openapi.js";

const require = createRequire(import.meta.url);
const SWAGGER_UI_DIR = path.dirname(require.resolve("swagger-ui-dist/package.json"));

/** Swagger UI's page, pointed at our document; every asset is served from node_modules, so /docs works offline. */
const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>reachgraph REST API</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>`;

const DOCS_INIT = `window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: true,
  validatorUrl: "none"
});`;

/** GET /openapi.json and the interactive docs at /docs. */
export function docsRouter(document: OpenApiDocument): Router {
  const router = express.Router();
  const body = JSON.stringify(document);
  router.get("/openapi.json", (_req, res) => {
    res.type("application/json").send(body);
  });
  router.get("/docs", (_req, res) => {
    res.type("html").send(DOCS_PAGE);
  });
  router.get("/docs/init.js", (_req, res) => {
    res.type("text/javascript").send(DOCS_INIT);
  });
  router.use("/docs/assets", express.static(SWAGGER_UI_DIR, { index: false, maxAge: "1h" }));
  return router;
}
