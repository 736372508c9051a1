import type { AnyRoute } from "./route.js";
import { leadV1Routes } from "./v1/leads.js";
import { eventRoutes } from "./v2/events.js";
import { leadRoutes } from "./v2/leads.js";

/** Every REST route. The OpenAPI document, the router and the route × scope test all read this list. */
export const routes: readonly AnyRoute[] = [...leadRoutes, ...eventRoutes, ...leadV1Routes];
