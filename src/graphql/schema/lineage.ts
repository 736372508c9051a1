import { getLeadLineage, type LeadLineage, type LineageStep } from "../../domain/get-lead-lineage.js";
import { leadIdFromRef } from "../../domain/lead-ref.js";
import { builder } from "../builder.js";

const StepRef = builder.objectRef<LineageStep>("LineageStep").implement({
  description:
    "One step of a lead's path: stage is scraped, analysed, demo, video, email, reply (an inbound message), meeting " +
    "or deal. Ids, statuses, models, scores, costs and timestamps only — no text, addresses or URLs.",
  fields: (t) => ({
    stage: t.exposeString("stage"),
    id: t.exposeID("id", {
      description: "The step's row id (analysis, demo site, video, send, message, meeting, deal).",
    }),
    at: t.field({
      type: "DateTime",
      description: "Ordering time; ties go by stage order.",
      resolve: (s) => s.at,
    }),
    startedAt: t.field({ type: "DateTime", nullable: true, resolve: (s) => s.started_at }),
    finishedAt: t.field({ type: "DateTime", nullable: true, resolve: (s) => s.finished_at }),
    status: t.exposeString("status", { nullable: true }),
    model: t.exposeString("model", { nullable: true }),
    correlationId: t.exposeString("correlation_id", {
      nullable: true,
      description:
        "Evidence of the link (the lead is the join): the correlation id of the request that queued the work, else " +
        "the one its event was emitted under; null when neither exists.",
    }),
    cost: t.exposeFloat("cost", {
      nullable: true,
      description:
        "USD of the AI-GYM rows attributed to this step: by task type (website_analysis → analysed, " +
        "demo_generation → demo, video_script → video, email_copy → email), to the stage's latest step begun at or " +
        "before the row, else its first. Null with none.",
    }),
    aiGymRecords: t.exposeInt("ai_gym_records"),
    sourcePlatform: t.exposeString("source_platform", { nullable: true }),
    scrapingJobId: t.exposeID("scraping_job_id", { nullable: true }),
    overallScore: t.int({ nullable: true, resolve: (s) => s.scores?.overall ?? null }),
    performanceScore: t.int({ nullable: true, resolve: (s) => s.scores?.performance ?? null }),
    seoScore: t.int({ nullable: true, resolve: (s) => s.scores?.seo ?? null }),
    accessibilityScore: t.int({ nullable: true, resolve: (s) => s.scores?.accessibility ?? null }),
    designScore: t.int({ nullable: true, resolve: (s) => s.scores?.design ?? null }),
    analysisId: t.exposeID("analysis_id", { nullable: true }),
    demoSiteId: t.exposeID("demo_site_id", {
      nullable: true,
      description: "Demos: the demo; videos: the demo it shows; emails: the demo the email carried, by id.",
    }),
    videoId: t.exposeID("video_id", {
      nullable: true,
      description: "Emails: the video the email carried, by id.",
    }),
    deployed: t.exposeBoolean("deployed", { nullable: true }),
    campaignId: t.exposeID("campaign_id", { nullable: true }),
    sendId: t.exposeID("email_send_id", {
      nullable: true,
      description: "The email send (or the send a reply answers).",
    }),
    conversationId: t.exposeID("conversation_id", { nullable: true }),
    meetingId: t.exposeID("meeting_id", { nullable: true }),
    abTestId: t.exposeID("ab_test_id", { nullable: true }),
    abVariant: t.exposeString("ab_variant", { nullable: true }),
    openedAt: t.field({ type: "DateTime", nullable: true, resolve: (s) => s.opened_at }),
    clickedAt: t.field({ type: "DateTime", nullable: true, resolve: (s) => s.clicked_at }),
    repliedAt: t.field({ type: "DateTime", nullable: true, resolve: (s) => s.replied_at }),
    sentiment: t.exposeString("sentiment", { nullable: true }),
    replyCategory: t.exposeString("reply_category", {
      nullable: true,
      description:
        'Replies: the effective category (a human correction, else the classifier\'s; README "Reply taxonomy"). ' +
        "A reply's `model` is the classifier model.",
    }),
    amount: t.exposeString("amount", { nullable: true, description: "A deal's amount as a decimal string." }),
    currency: t.exposeString("currency", { nullable: true }),
  }),
});

const LineageRef = builder.objectRef<LeadLineage & { ref: string }>("LeadLineage").implement({
  description: "A lead's ordered path through the pipeline, read from base tables on the replica.",
  fields: (t) => ({
    leadRef: t.exposeString("ref"),
    steps: t.field({ type: [StepRef], resolve: (l) => l.steps }),
    unattributedCost: t.exposeFloat("unattributed_cost", {
      nullable: true,
      description: "USD of the lead's AI-GYM rows that no step took; null with none.",
    }),
  }),
});

builder.queryField("lineage", (t) =>
  t.field({
    type: LineageRef,
    nullable: true,
    description:
      "A lead's lineage by its opaque reference (`lead_ref` of REST GET /api/v2/leads/{id}/lineage: the lead id " +
      "encrypted under a key derived from the tokenization key). Null for an unknown, malformed or erased lead.",
    args: { leadRef: t.arg.string({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const id = leadIdFromRef(args.leadRef);
      if (!id) return null;
      const lineage = await getLeadLineage(ctx.read.pool, id);
      if (!lineage) return null;
      // The scraped step's row is the lead: GraphQL names it by its ref, never by its id.
      const steps = lineage.steps.map((s) => (s.stage === "scraped" ? { ...s, id: args.leadRef } : s));
      return { ...lineage, steps, ref: args.leadRef };
    },
  }),
);
