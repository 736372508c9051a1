import type { CampaignKpis } from "../../analytics/get-campaign-kpis.js";
import { getCampaignKpis } from "../../analytics/get-campaign-kpis.js";
import {
  getStepAnalytics,
  type NamedRate,
  STEP_COUNTS,
  STEP_RATES,
  type StepVariant,
} from "../../analytics/get-step-analytics.js";
import { type CalendarPeriod, resolveCalendarPeriod } from "../../analytics/period.js";
import { UnprocessableError } from "../../domain/errors.js";
import type { Prisma } from "../../generated/prisma/client.js";
import { builder } from "../builder.js";
import {
  GranularityEnum,
  OutreachKpisRef,
  OutreachPointRef,
  PeriodRef,
  periodArgs,
  toPeriodInput,
} from "./kpis.js";

type Performance = { asOf: Date; period: CalendarPeriod; kpis: CampaignKpis };

const PerformanceRef = builder.objectRef<Performance>("CampaignPerformance").implement({
  description:
    "A campaign's (or a set of campaigns') funnel, rates, deals and revenue over a calendar period.",
  fields: (t) => ({
    asOf: t.field({ type: "DateTime", description: "The views' last refresh.", resolve: (p) => p.asOf }),
    period: t.field({ type: PeriodRef, resolve: (p) => p.period }),
    totals: t.field({ type: OutreachKpisRef, resolve: (p) => p.kpis.totals }),
    series: t.field({
      type: [OutreachPointRef],
      description: "One point per step of the granularity asked for; empty steps are zeros.",
      resolve: (p) => p.kpis.series,
    }),
  }),
});

const performanceArgs = {
  ...periodArgs,
  ...builder.args((t) => ({
    granularity: t.field({ type: GranularityEnum, required: false, defaultValue: "day" }),
  })),
};

const camel = (s: string) => s.replace(/_(\w)/g, (_, c: string) => c.toUpperCase());

const NamedRateRef = builder.objectRef<NamedRate>("NamedRate").implement({
  description:
    "A rate with what it divides: value = numerator / denominator (null when the denominator is 0).",
  fields: (t) => ({
    value: t.exposeFloat("value", { nullable: true }),
    numerator: t.string({
      description: "The count divided (a StepVariant field).",
      resolve: (r) => camel(r.numerator),
    }),
    denominator: t.string({
      description: "The count divided by (a StepVariant field).",
      resolve: (r) => camel(r.denominator),
    }),
    over: t.exposeInt("over", { description: "The denominator's value." }),
  }),
});

const StepRatesRef = builder.objectRef<StepVariant["rates"]>("StepRates").implement({
  description: "Each rate names its numerator and denominator.",
  fields: (t) =>
    Object.fromEntries(
      Object.entries(STEP_RATES).map(([name, [numerator, denominator]]) => [
        camel(name),
        t.field({
          type: NamedRateRef,
          description: `${camel(numerator)} / ${camel(denominator)}.`,
          resolve: (r) => r[name as keyof typeof STEP_RATES],
        }),
      ]),
    ),
});

const STEP_COUNT_DESCRIPTIONS: Record<(typeof STEP_COUNTS)[number], string> = {
  sent: "Emails sent (status sent or bounced) in the period.",
  delivered: "sent − bounced.",
  bounced: "Sent emails that bounced.",
  unique_opens: "Delivered emails opened (each counts once).",
  unique_clicks: "Delivered emails clicked (each counts once).",
  human_replies: "Delivered emails a human answered (not only out-of-office, auto-reply or bounce messages).",
  automatic_replies: "Delivered emails whose reply was only automatic (out_of_office, auto_reply, bounce).",
  positive_replies: "Human replies with a message in the positive group (interested, meeting_request).",
  unsubscribes: "Delivered emails whose thread has an unsubscribe reply.",
  meetings:
    "Delivered emails credited with a meeting by last touch: the lead's latest delivered email of the campaign " +
    "sent at or before the booking.",
};

const StepVariantRef = builder.objectRef<StepVariant>("StepVariant").implement({
  description:
    'One sequence step × A/B variant of a campaign over the period (README "Step analytics"). Live from the ' +
    "replica's base tables: it may run ahead of `performance` until the views' next refresh.",
  fields: (t) => ({
    step: t.exposeInt("step", {
      description: "The email's step in the campaign's sequence (1 = first email).",
    }),
    abTestId: t.exposeID("ab_test_id", { nullable: true }),
    variant: t.exposeString("variant", { nullable: true, description: "The A/B variant; null: none." }),
    ...Object.fromEntries(
      STEP_COUNTS.map((c) => [camel(c), t.exposeInt(c, { description: STEP_COUNT_DESCRIPTIONS[c] })]),
    ),
    rates: t.field({ type: StepRatesRef, resolve: (r) => r.rates }),
  }),
});

type Steps = { asOf: Date; period: CalendarPeriod; rows: StepVariant[] };

const StepsRef = builder.objectRef<Steps>("CampaignSteps").implement({
  description: "A campaign's analytics by sequence step × A/B variant.",
  fields: (t) => ({
    asOf: t.field({
      type: "DateTime",
      description: "The views' last refresh (anchors `period`).",
      resolve: (s) => s.asOf,
    }),
    period: t.field({ type: PeriodRef, resolve: (s) => s.period }),
    rows: t.field({
      type: [StepVariantRef],
      description: "Step first, then test and variant.",
      resolve: (s) => s.rows,
    }),
  }),
});

export const CampaignRef = builder.prismaObject("Campaign", {
  description:
    "An outreach campaign. Its name is the team's own label for it, not a person's or a company's.",
  fields: (t) => ({
    id: t.exposeID("id"),
    name: t.exposeString("name", { nullable: true }),
    status: t.exposeString("status", { nullable: true }),
    dailyLimit: t.exposeInt("dailyLimit", { nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime", nullable: true }),
    abTests: t.relation("abTests", { description: "A/B tests run in this campaign." }),
    peopleReached: t.relationCount("recipients", {
      description:
        "Distinct people this campaign has delivered an email to, over its whole life: counted by the keyed token " +
        "of their address (two leads with one address are one person), never by the address. Kept when a lead is " +
        "erased or its emails age out of retention.",
    }),
    performance: t.field({
      type: PerformanceRef,
      args: performanceArgs,
      resolve: async (campaign, args, ctx) => {
        const asOf = await ctx.asOf();
        const period = resolveCalendarPeriod(toPeriodInput(args), asOf);
        const kpis = await ctx.loaders.campaignKpis.load({
          campaignId: campaign.id,
          period,
          granularity: args.granularity ?? "day",
        });
        return { asOf, period, kpis };
      },
    }),
    steps: t.field({
      type: StepsRef,
      description:
        "Sent, delivered, opens, clicks, human and automatic replies, positive replies, unsubscribes and " +
        "meetings per sequence step × A/B variant, with rates that name their denominators.",
      args: periodArgs,
      resolve: async (campaign, args, ctx) => {
        const asOf = await ctx.asOf();
        const period = resolveCalendarPeriod(toPeriodInput(args), asOf);
        return { asOf, period, rows: await getStepAnalytics(ctx.read.pool, campaign.id, period) };
      },
    }),
  }),
});

type CampaignFilter = { status?: string[] | null; createdFrom?: Date | null; createdBefore?: Date | null };

const CampaignFilterInput = builder.inputType("CampaignFilter", {
  fields: (t) => ({
    status: t.stringList({ required: false, description: "draft, active, paused, completed, archived" }),
    createdFrom: t.field({ type: "DateTime", required: false }),
    createdBefore: t.field({ type: "DateTime", required: false }),
  }),
});

type CampaignRow = Prisma.CampaignGetPayload<object>;
type Connection = {
  where: Prisma.CampaignWhereInput;
  offset: number;
  rows: CampaignRow[];
  hasNextPage: boolean;
};

const PageInfoRef = builder
  .objectRef<{ hasNextPage: boolean; hasPreviousPage: boolean; endCursor: string | null }>("PageInfo")
  .implement({
    fields: (t) => ({
      hasNextPage: t.exposeBoolean("hasNextPage"),
      hasPreviousPage: t.exposeBoolean("hasPreviousPage"),
      endCursor: t.exposeString("endCursor", { nullable: true }),
    }),
  });

const encodeCursor = (offset: number) => Buffer.from(`o:${offset}`).toString("base64url");
function decodeCursor(cursor: string): number {
  const m = /^o:(\d{1,9})$/.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  if (!m)
    throw new UnprocessableError("after is not a cursor from this connection.", [
      { path: "after", message: "invalid cursor" },
    ]);
  return Number(m[1]);
}

const EdgeRef = builder.objectRef<{ cursor: string; node: CampaignRow }>("CampaignEdge").implement({
  fields: (t) => ({
    cursor: t.exposeString("cursor"),
    node: t.field({ type: CampaignRef, resolve: (e) => e.node }),
  }),
});

const ConnectionRef = builder.objectRef<Connection>("CampaignConnection").implement({
  description:
    "Campaigns, newest first, with the total count and the funnel summed over every matching campaign.",
  fields: (t) => ({
    totalCount: t.int({ resolve: (c, _args, ctx) => ctx.read.prisma.campaign.count({ where: c.where }) }),
    edges: t.field({
      type: [EdgeRef],
      resolve: (c) => c.rows.map((node, i) => ({ cursor: encodeCursor(c.offset + i + 1), node })),
    }),
    nodes: t.field({ type: [CampaignRef], resolve: (c) => c.rows }),
    pageInfo: t.field({
      type: PageInfoRef,
      resolve: (c) => ({
        hasNextPage: c.hasNextPage,
        hasPreviousPage: c.offset > 0,
        endCursor: c.rows.length ? encodeCursor(c.offset + c.rows.length) : null,
      }),
    }),
    totals: t.field({
      type: PerformanceRef,
      description: "The funnel of all campaigns matching the filter (not just this page), summed.",
      args: performanceArgs,
      resolve: async (c, args, ctx) => {
        const asOf = await ctx.asOf();
        const period = resolveCalendarPeriod(toPeriodInput(args), asOf);
        const ids = (await ctx.read.prisma.campaign.findMany({ where: c.where, select: { id: true } })).map(
          (r) => r.id,
        );
        const byId = await getCampaignKpis(ctx.read.pool, {
          period,
          granularity: args.granularity ?? "day",
          byCampaign: false,
          campaignIds: ids,
        });
        const kpis = byId.get("*");
        if (!kpis) throw new Error("no summed KPIs");
        return { asOf, period, kpis };
      },
    }),
  }),
});

const MAX_PAGE = 100;

builder.queryField("campaigns", (t) =>
  t.field({
    type: ConnectionRef,
    description: "Campaigns, newest first, as a cursor connection (first/after).",
    args: {
      filter: t.arg({ type: CampaignFilterInput, required: false }),
      first: t.arg.int({ required: false, defaultValue: 20, description: `1–${MAX_PAGE}` }),
      after: t.arg.string({ required: false }),
    },
    resolve: async (_root, args, ctx) => {
      const first = args.first ?? 20;
      if (first < 1 || first > MAX_PAGE)
        throw new UnprocessableError(`first must be 1–${MAX_PAGE}.`, [
          { path: "first", message: `1–${MAX_PAGE}` },
        ]);
      const offset = args.after ? decodeCursor(args.after) : 0;
      const f: CampaignFilter = args.filter ?? {};
      const where: Prisma.CampaignWhereInput = {
        ...(f.status?.length ? { status: { in: f.status } } : {}),
        ...(f.createdFrom || f.createdBefore
          ? {
              createdAt: {
                ...(f.createdFrom ? { gte: f.createdFrom } : {}),
                ...(f.createdBefore ? { lt: f.createdBefore } : {}),
              },
            }
          : {}),
      };
      const rows = await ctx.read.prisma.campaign.findMany({
        where,
        orderBy: [{ createdAt: { sort: "desc", nulls: "last" } }, { id: "asc" }],
        skip: offset,
        take: first + 1,
      });
      return { where, offset, rows: rows.slice(0, first), hasNextPage: rows.length > first };
    },
  }),
);

builder.queryField("campaign", (t) =>
  t.prismaField({
    type: "Campaign",
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) =>
      /^[0-9a-f-]{36}$/i.test(String(args.id))
        ? ctx.read.prisma.campaign.findUnique({ ...query, where: { id: String(args.id) } })
        : null,
  }),
);
