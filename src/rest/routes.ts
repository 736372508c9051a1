import type { AnyRoute } from "./route.js";
import { analysisV1Routes } from "./v1/analysis.js";
import { leadV1Routes } from "./v1/leads.js";
import { abTestRoutes } from "./v2/ab-tests.js";
import { aiGymRoutes } from "./v2/ai-gym.js";
import { analysisRoutes } from "./v2/analysis.js";
import { analyticsRoutes } from "./v2/analytics.js";
import { auditLogRoutes } from "./v2/audit-log.js";
import { campaignRoutes } from "./v2/campaigns.js";
import { conversationRoutes } from "./v2/conversations.js";
import { demoRoutes } from "./v2/demos.js";
import { emailRoutes } from "./v2/email.js";
import { eventRoutes } from "./v2/events.js";
import { leadRoutes } from "./v2/leads.js";
import { lineageRoutes } from "./v2/lineage.js";
import { retentionRoutes } from "./v2/retention.js";
import { scrapingJobRoutes } from "./v2/scraping-jobs.js";
import { suppressionRoutes } from "./v2/suppressions.js";
import { videoRoutes } from "./v2/videos.js";
import { workRoutes } from "./v2/work.js";

/** Every REST route. The OpenAPI document, the router and the route × scope test all read this list. */
export const routes: readonly AnyRoute[] = [
  ...leadRoutes,
  ...lineageRoutes,
  ...analysisRoutes,
  ...demoRoutes,
  ...videoRoutes,
  ...workRoutes,
  ...aiGymRoutes,
  ...campaignRoutes,
  ...emailRoutes,
  ...conversationRoutes,
  ...abTestRoutes,
  ...scrapingJobRoutes,
  ...eventRoutes,
  ...suppressionRoutes,
  ...analyticsRoutes,
  ...retentionRoutes,
  ...auditLogRoutes,
  ...leadV1Routes,
  ...analysisV1Routes,
];
