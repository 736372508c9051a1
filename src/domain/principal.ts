/** Scopes an API key can hold. `admin` satisfies every scope. */
export const SCOPES = ["ingest", "worker", "sender", "admin", "analytics:read", "events:read"] as const;
export type Scope = (typeof SCOPES)[number];

export type Principal =
  | { type: "api_key"; id: string; name: string; scopes: readonly Scope[]; rateLimitPerMinute: number | null }
  | { type: "anonymous"; id: "anonymous" }
  /** Work reachgraph does by itself (scheduled jobs, the CLI), audited under its name, e.g. "retention". */
  | { type: "system"; id: string };

export function hasScope(principal: Principal, scope: Scope): boolean {
  return (
    principal.type === "api_key" && (principal.scopes.includes(scope) || principal.scopes.includes("admin"))
  );
}
