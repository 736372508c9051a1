import { getOverview, type Overview } from "../../analytics/get-overview.js";
import { builder } from "../builder.js";
import {
  GranularityEnum,
  OutreachKpisRef,
  OutreachPointRef,
  PeriodRef,
  PlatformActivityRef,
  PlatformPointRef,
  periodArgs,
  toPeriodInput,
} from "./kpis.js";

const OverviewRef = builder.objectRef<Overview>("Overview").implement({
  description: "Platform KPIs and the funnel over all campaigns for a calendar period, with a series.",
  fields: (t) => ({
    asOf: t.field({
      type: "DateTime",
      description: "When the views behind this answer were refreshed: the data is current to then.",
      resolve: (o) => o.as_of,
    }),
    period: t.field({ type: PeriodRef, resolve: (o) => o.period }),
    granularity: t.field({ type: GranularityEnum, resolve: (o) => o.granularity }),
    platform: t.field({ type: PlatformActivityRef, resolve: (o) => o.platform.totals }),
    platformSeries: t.field({ type: [PlatformPointRef], resolve: (o) => o.platform.series }),
    outreach: t.field({ type: OutreachKpisRef, resolve: (o) => o.outreach.totals }),
    outreachSeries: t.field({ type: [OutreachPointRef], resolve: (o) => o.outreach.series }),
  }),
});

builder.queryField("overview", (t) =>
  t.field({
    type: OverviewRef,
    description:
      "Platform KPIs (leads scraped, analyses, demos, videos, emails sent, AI spend) and the outreach funnel over " +
      "all campaigns, for `period` or `from`/`to` in `timeZone`, with a series per day, week or month.",
    args: {
      ...periodArgs,
      granularity: t.arg({ type: GranularityEnum, required: false, defaultValue: "day" }),
    },
    resolve: async (_root, args, ctx) =>
      getOverview(
        ctx.read.pool,
        { ...toPeriodInput(args), granularity: args.granularity ?? "day" },
        { cache: ctx.cache, asOf: await ctx.asOf() },
      ),
  }),
);
