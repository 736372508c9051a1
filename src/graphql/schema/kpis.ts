import type { FunnelRates, KpiSeriesPoint, KpiSlice, Money } from "../../analytics/get-campaign-kpis.js";
import { funnelRates } from "../../analytics/get-campaign-kpis.js";
import type { PlatformActivity } from "../../analytics/get-platform-activity.js";
import type { CalendarPeriod } from "../../analytics/period.js";
import { builder } from "../builder.js";

export const GranularityEnum = builder.enumType("Granularity", {
  description:
    "Series step: local calendar days, ISO weeks (Monday first) or months in the query's time zone.",
  values: { DAY: { value: "day" }, WEEK: { value: "week" }, MONTH: { value: "month" } } as const,
});

export const PeriodRef = builder.objectRef<CalendarPeriod>("CalendarPeriod").implement({
  description: "Whole local days `[from 00:00, to + 1 day 00:00)` in `timeZone`.",
  fields: (t) => ({
    from: t.field({ type: "Date", resolve: (p) => p.from }),
    to: t.field({ type: "Date", description: "Last day, inclusive.", resolve: (p) => p.to }),
    timeZone: t.field({ type: "TimeZone", resolve: (p) => p.timezone }),
  }),
});

export const MoneyRef = builder.objectRef<Money>("Money").implement({
  description: "An exact amount in one ISO 4217 currency. Amounts are never converted between currencies.",
  fields: (t) => ({
    currency: t.exposeString("currency"),
    amount: t.field({ type: "Decimal", resolve: (m) => m.amount }),
  }),
});

const FunnelRef = builder.objectRef<KpiSlice["funnel"]>("Funnel").implement({
  description:
    "Email counts. An email counts in the local day it was sent (queued: the day it was queued); queued, sending " +
    "and failed emails are not sent. delivered = sent − bounced. opened/clicked count delivered emails with that " +
    "outcome. replied: delivered emails a human answered — an inbound message in the thread whose category " +
    "(the human correction, else the classifier's) is not automatic (out_of_office, auto_reply, bounce), or a " +
    "reply with no automatic message at all. positiveReplies: replied emails with a reply in the positive group " +
    "(interested, meeting_request). README \"Reply taxonomy\". meetingsBooked: first touch — a lead's meeting in a campaign counts once, on the lead's " +
    "first delivered email of that campaign, when booked at or after that email was sent.",
  fields: (t) => ({
    queued: t.exposeInt("queued"),
    sent: t.exposeInt("sent"),
    bounced: t.exposeInt("bounced"),
    delivered: t.exposeInt("delivered"),
    opened: t.exposeInt("opened"),
    clicked: t.exposeInt("clicked"),
    replied: t.exposeInt("replied"),
    positiveReplies: t.exposeInt("positive_replies"),
    meetingsBooked: t.exposeInt("meetings_booked"),
  }),
});

const RatesRef = builder.objectRef<FunnelRates>("FunnelRates").implement({
  description: "Rates of the funnel; null when the denominator is 0 (never NaN, never 0 for no data).",
  fields: (t) => ({
    deliveryRate: t.float({
      nullable: true,
      description: "delivered / sent",
      resolve: (r) => r.delivery_rate,
    }),
    bounceRate: t.float({ nullable: true, description: "bounced / sent", resolve: (r) => r.bounce_rate }),
    openRate: t.float({ nullable: true, description: "opened / delivered", resolve: (r) => r.open_rate }),
    clickRate: t.float({ nullable: true, description: "clicked / delivered", resolve: (r) => r.click_rate }),
    replyRate: t.float({ nullable: true, description: "replied / delivered", resolve: (r) => r.reply_rate }),
    positiveReplyRate: t.float({
      nullable: true,
      description: "positiveReplies / delivered",
      resolve: (r) => r.positive_reply_rate,
    }),
    meetingBookingRate: t.float({
      nullable: true,
      description: "meetingsBooked / delivered",
      resolve: (r) => r.meeting_booking_rate,
    }),
  }),
});

export const OutreachKpisRef = builder.objectRef<KpiSlice>("OutreachKpis").implement({
  description: "The outreach funnel, its rates, deals won and revenue over a period.",
  fields: (t) => ({
    funnel: t.field({ type: FunnelRef, resolve: (s) => s.funnel }),
    rates: t.field({ type: RatesRef, resolve: (s) => funnelRates(s.funnel) }),
    dealsWon: t.int({
      description: "Deals won in the period (counted on the local day they were won).",
      resolve: (s) => s.deals_won,
    }),
    revenue: t.field({
      type: [MoneyRef],
      description:
        "Sum of won deal amounts attributed to the campaign (deals.campaign_id), per currency, on the local day " +
        "they were won; empty when none.",
      resolve: (s) => s.revenue,
    }),
  }),
});

export const OutreachPointRef = builder.objectRef<KpiSeriesPoint>("OutreachPoint").implement({
  description: "One day, week or month of the outreach funnel.",
  fields: (t) => ({
    start: t.field({ type: "Date", description: "Local start date of the step.", resolve: (p) => p.start }),
    kpis: t.field({ type: OutreachKpisRef, resolve: (p) => p }),
  }),
});

const platformFields = {
  leadsScraped: "Leads created (scraped or imported).",
  analysesCompleted: "Website analyses completed.",
  demosDeployed: "Demo sites deployed.",
  videosReady: "Videos that became ready (counted on the day they were requested).",
  emailsSent: "Emails sent, in any campaign or none.",
  aiRuns: "AI-GYM records (model runs).",
} as const;
const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) as keyof PlatformActivity;

export const PlatformActivityRef = builder.objectRef<PlatformActivity>("PlatformActivity").implement({
  description: "Platform activity over a period.",
  fields: (t) => ({
    ...Object.fromEntries(
      Object.entries(platformFields).map(([name, description]) => [
        name,
        t.int({ description, resolve: (a) => Number(a[snake(name)]) }),
      ]),
    ),
    aiSpendUsd: t.float({ description: "Sum of AI-GYM cost, USD.", resolve: (a) => a.ai_spend }),
  }),
});

export const PlatformPointRef = builder
  .objectRef<PlatformActivity & { start: string }>("PlatformPoint")
  .implement({
    description: "One day, week or month of platform activity.",
    fields: (t) => ({
      start: t.field({ type: "Date", resolve: (p) => p.start }),
      activity: t.field({ type: PlatformActivityRef, resolve: (p) => p }),
    }),
  });

/** The period arguments every KPI field takes. */
export const periodArgs = builder.args((t) => ({
  period: t.field({
    type: "Period",
    required: false,
    description:
      "The N local days ending with the day of asOf (today included). Default 30d. Not with from/to.",
  }),
  from: t.field({ type: "Date", required: false, description: "First local day (with `to`)." }),
  to: t.field({ type: "Date", required: false, description: "Last local day, inclusive (with `from`)." }),
  timeZone: t.field({
    type: "TimeZone",
    required: false,
    defaultValue: "UTC",
    description: "IANA zone the days are counted in.",
  }),
}));

export type PeriodArgs = {
  period?: number | null;
  from?: string | null;
  to?: string | null;
  timeZone?: string | null;
};

export function toPeriodInput(args: PeriodArgs) {
  return {
    days: args.period ?? undefined,
    from: args.from ?? undefined,
    to: args.to ?? undefined,
    timezone: args.timeZone ?? undefined,
  };
}
