import type { AnyRoute } from "./route.js";
import { leadRoutes } from "./v2/leads.js";

/** Every REST route. The OpenAPI document, the router and the route × scope test all read this list. */
export const routes: readonly AnyRoute[] = [...leadRoutes];
