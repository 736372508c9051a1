import type { AnyRoute, Deprecation } from "../route.js";

/** v1 was deprecated when v2 shipped; spec §7 gives clients 90 days' notice before the sunset. */
export const V1_DEPRECATED_SINCE = new Date("2026-11-25T00:00:00Z");
export const V1_SUNSET = new Date(V1_DEPRECATED_SINCE.getTime() + 90 * 24 * 60 * 60 * 1000);

export function v1Deprecation(successor: string): Deprecation {
  return { since: V1_DEPRECATED_SINCE, sunset: V1_SUNSET, successor };
}

/** A v2 route served unchanged under its v1 path, with the deprecation headers. */
export function v1Alias(route: AnyRoute, v1Path: string): AnyRoute {
  return {
    ...route,
    path: v1Path,
    operationId: `${route.operationId}V1`,
    tags: ["v1 (deprecated)"],
    deprecated: v1Deprecation(route.path),
  };
}
