/** npm run openapi: writes the OpenAPI 3.1 document the routes generate to ./openapi.json (committed). */
import { writeFileSync } from "node:fs";
import { restOpenApiDocument } from "../rest/index.js";

const OPENAPI_FILE = new URL("../../openapi.json", import.meta.url);

writeFileSync(OPENAPI_FILE, `${JSON.stringify(restOpenApiDocument(), null, 2)}\n`);
console.log("wrote openapi.json");
