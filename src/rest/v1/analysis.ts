import { listAnalysesRoute, queueAnalysisRoute } from "../v2/analysis.js";
import { v1Alias } from "./deprecation.js";

/** v1 analysis endpoints (spec §3.1): the v2 handlers on the same data, under their v1 paths, deprecated. */
export const analysisV1Routes = [
  v1Alias(queueAnalysisRoute, "/api/v1/analysis/{lead_id}"),
  v1Alias(listAnalysesRoute, "/api/v1/analysis/{lead_id}"),
];
