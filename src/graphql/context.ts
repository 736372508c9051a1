import DataLoader from "dataloader";
import type { AnalyticsCache } from "../analytics/analytics-cache.js";
import type { AbVariantCounts } from "../analytics/get-ab-test-results.js";
import { getAbVariantCounts } from "../analytics/get-ab-test-results.js";
import { type CampaignKpis, getCampaignKpis } from "../analytics/get-campaign-kpis.js";
import type { CalendarPeriod, Granularity } from "../analytics/period.js";
import type { ReadTarget } from "../db/read-router.js";
import type { Principal } from "../domain/principal.js";

/**
 * Per-request GraphQL context: where this request reads (the replica, or the primary when the replica is down or
 * lagging — reported in the response's `extensions.readSource`), the data's as-of time, and request-scoped
 * DataLoaders so a nested query costs a bounded number of statements whatever the number of rows.
 */
export type GraphQLContext = {
  read: ReadTarget;
  principal: Principal;
  /** The read side's cache (analytics-cache.ts): answers and responses keyed by asOf. */
  cache: AnalyticsCache;
  /** The rollups' asOf on `read`, looked up once per request (through the cache's short memo). */
  asOf: () => Promise<Date>;
  loaders: {
    campaignKpis: DataLoader<CampaignKpiKey, CampaignKpis, string>;
    abVariantCounts: DataLoader<string, AbVariantCounts[]>;
  };
};

export type CampaignKpiKey = { campaignId: string; period: CalendarPeriod; granularity: Granularity | null };

const kpiBatchKey = (k: Omit<CampaignKpiKey, "campaignId">) =>
  `${k.period.from}|${k.period.to}|${k.period.timezone}|${k.granularity ?? ""}`;

export function createContext(read: ReadTarget, principal: Principal, cache: AnalyticsCache): GraphQLContext {
  const pool = read.pool;
  let asOfPromise: Promise<Date> | undefined;
  const asOf = () => {
    asOfPromise ??= cache.asOf(pool);
    return asOfPromise;
  };
  return {
    read,
    principal,
    cache,
    asOf,
    loaders: {
      // One statement pair per distinct (period, granularity) in the query, for all campaigns asked for.
      campaignKpis: new DataLoader(
        async (keys) => {
          const groups = new Map<string, CampaignKpiKey[]>();
          for (const k of keys) {
            const g = groups.get(kpiBatchKey(k)) ?? [];
            g.push(k);
            groups.set(kpiBatchKey(k), g);
          }
          const results = new Map<string, CampaignKpis>();
          await Promise.all(
            [...groups.entries()].map(async ([batch, group]) => {
              const first = group[0];
              if (!first) return;
              const campaignIds = [...new Set(group.map((k) => k.campaignId))].sort();
              const byId = await cache.byAsOf(
                pool,
                await asOf(),
                `kpis|${batch}|${campaignIds.join(",")}`,
                () =>
                  getCampaignKpis(pool, {
                    period: first.period,
                    granularity: first.granularity,
                    byCampaign: true,
                    campaignIds,
                  }),
              );
              for (const [id, kpis] of byId) results.set(`${batch}|${id}`, kpis);
            }),
          );
          return keys.map((k) => results.get(`${kpiBatchKey(k)}|${k.campaignId}`) ?? new Error("no KPIs"));
        },
        { cacheKeyFn: (k) => `${kpiBatchKey(k)}|${k.campaignId}` },
      ),
      abVariantCounts: new DataLoader(async (testIds) => {
        const rows = await getAbVariantCounts(pool, testIds);
        return testIds.map((id) => rows.filter((r) => r.ab_test_id === id));
      }),
    },
  };
}
