import type { Faker } from "@faker-js/faker";
import { domainToken, emailToken } from "../compliance/tokens.js";
import {
  type AbTestSpec,
  CAMPAIGNS,
  type CampaignSpec,
  MODELS,
  type ModelSpec,
  SENTIMENTS,
  TASK_TYPES,
  type TaskType,
  UNENROLLED_INDUSTRIES,
} from "./catalog.js";
import type { Rng } from "./rng.js";
import type { SeedRows } from "./tables.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A UTC instant as the naive timestamp string the TIMESTAMP columns store (sending a Date would carry an offset). */
export const ts = (ms: number | null): string | null =>
  ms === null ? null : new Date(ms).toISOString().slice(0, 23);

export type SeedWorld = {
  rng: Rng;
  faker: Faker;
  /** "Now" of the dataset: nothing happens after it. */
  anchorMs: number;
  spanDays: number;
  emailsPerLead: number;
  campaigns: { id: string; spec: CampaignSpec }[];
  abTests: { id: string; spec: AbTestSpec }[];
  /** Scraping job id by `${platform}:${YYYY-MM}`. */
  scrapingJobs: Map<string, string>;
};

function pickModel(rng: Rng): ModelSpec {
  return rng.weighted(MODELS.map((m) => [m, m.weight] as const));
}

function aiGymRow(
  w: SeedWorld,
  rows: SeedRows,
  task: TaskType,
  model: ModelSpec,
  leadId: string,
  atMs: number,
  conversion: number | null,
): number {
  const { rng } = w;
  const scale = TASK_TYPES[task];
  const cost = rng.logNormal(model.cost * scale.cost, 0.35);
  const duration = Math.max(1, Math.round(rng.logNormal(model.duration * scale.duration, 0.45)));
  const quality = rng.chance(0.93)
    ? Math.round(rng.normal(model.quality[0], model.quality[1], 0, 100))
    : null;
  rows.ai_gym_performance.push([
    rng.uuid(),
    task,
    model.name,
    leadId,
    cost.toFixed(4),
    duration,
    quality,
    conversion === null ? null : conversion.toFixed(4),
    JSON.stringify({
      prompt_version: `${task}-v${rng.int(3, 7)}`,
      input_tokens: rng.int(800, 12_000),
      output_tokens: rng.int(150, 4_000),
    }),
    ts(atMs),
    rng.hex(64),
    rng.hex(64),
  ]);
  return duration * 1000;
}

/** The next moment inside the campaign's weekday send window at or after `ms`. */
function inSendWindow(rng: Rng, spec: CampaignSpec, ms: number): number {
  const d = new Date(ms);
  let day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  for (;;) {
    const candidate = day + spec.windowStartUtcHour * HOUR + rng.between(0, 8 * HOUR);
    const weekday = new Date(day + spec.windowStartUtcHour * HOUR).getUTCDay();
    if (candidate >= ms && weekday !== 0 && weekday !== 6) return candidate;
    day += DAY;
  }
}

function pickVariant(rng: Rng, split: Record<string, number>): string {
  return rng.weighted(Object.entries(split));
}

/** Simulates one lead's journey through the pipeline and appends every row it produced. */
export function generateLead(w: SeedWorld, rows: SeedRows): void {
  const { rng, faker, anchorMs } = w;
  const leadId = rng.uuid();
  const enrolled = rng.chance(0.9);
  const campaign = enrolled ? rng.weighted(w.campaigns.map((c) => [c, c.spec.weight] as const)) : undefined;
  const createdMs = anchorMs - rng.between(0, w.spanDays) * DAY;
  const platform = campaign ? rng.pick(campaign.spec.sourceTypes) : rng.pick(["google_maps", "yelp"]);
  const month = new Date(createdMs).toISOString().slice(0, 7);

  const company = faker.company.name();
  const slug = company
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "")
    .slice(0, 40);
  const tld = { US: "com", GB: "co.uk", DE: "de", AU: "com.au" }[campaign?.spec.countryCode ?? "US"] ?? "com";
  const domain = `${slug}-${leadId.slice(0, 8)}.${tld}`;
  const first = faker.person.firstName();
  const last = faker.person.lastName();
  const mailbox = `${first}.${last}`.toLowerCase().replace(/[^a-z.]/g, "");
  const contactEmail = `${mailbox}@${domain}`;
  const consentSource =
    platform === "linkedin"
      ? "linkedin_connection"
      : rng.pick(["public_business_listing", "public_business_listing", "web_form_optin"]);

  let leadStatus = "new";
  let lastActivity = createdMs;

  // Website analysis.
  let analysisId: string | null = null;
  let analysisDoneMs: number | null = null;
  if (rng.chance(0.93)) {
    analysisId = rng.uuid();
    const model = pickModel(rng);
    const startMs = createdMs + rng.between(0.05, 1) * DAY;
    const durationMs = aiGymRow(
      w,
      rows,
      "website_analysis",
      model,
      leadId,
      Math.min(startMs, anchorMs - HOUR),
      null,
    );
    const finished = startMs + durationMs < anchorMs;
    const status = !finished ? rng.pick(["queued", "running"]) : rng.chance(0.96) ? "completed" : "failed";
    const completed = status === "completed";
    const score = () => (completed ? rng.int(18, 97) : null);
    const perf = score();
    const seo = score();
    const a11y = score();
    const design = score();
    const overall = completed
      ? Math.round(((perf ?? 0) + (seo ?? 0) + (a11y ?? 0) + (design ?? 0)) / 4)
      : null;
    if (completed) analysisDoneMs = startMs + durationMs;
    rows.website_analyses.push([
      analysisId,
      leadId,
      status,
      overall,
      perf,
      seo,
      a11y,
      design,
      completed
        ? JSON.stringify({
            issues: rng.int(2, 14),
            mobile_friendly: rng.chance(0.55),
            has_booking_widget: rng.chance(0.3),
            cms: rng.pick(["wordpress", "wix", "squarespace", "custom", "none"]),
          })
        : null,
      model.name,
      ts(Math.min(startMs, anchorMs)),
      ts(completed ? startMs + durationMs : null),
      ts(Math.min(completed ? startMs + durationMs : startMs, anchorMs)),
      completed
        ? JSON.stringify({ vision: model.name, copy_review: pickModel(rng).name, seo: "rules-v2" })
        : null,
      completed
        ? JSON.stringify({
            performance: perf,
            accessibility: a11y,
            seo,
            best_practices: rng.int(40, 100),
            lcp_ms: rng.int(900, 9000),
          })
        : null,
    ]);
    if (completed) leadStatus = "analyzed";
    lastActivity = Math.max(lastActivity, Math.min(startMs + durationMs, anchorMs));
  }

  // Demo site and video.
  let demoUrl: string | null = null;
  let videoUrl: string | null = null;
  // The demo and video an email carries, by id (email_sends.demo_site_id / video_id, migration 0020).
  let demoSiteId: string | null = null;
  let videoIdSent: string | null = null;
  if (analysisId && analysisDoneMs !== null && rng.chance(0.72)) {
    const demoId = rng.uuid();
    const model = pickModel(rng);
    const startMs = analysisDoneMs + rng.between(0.01, 0.5) * DAY;
    const durationMs = aiGymRow(
      w,
      rows,
      "demo_generation",
      model,
      leadId,
      Math.min(startMs, anchorMs - HOUR),
      null,
    );
    const doneMs = startMs + durationMs;
    let status = doneMs >= anchorMs ? "building" : rng.chance(0.92) ? "deployed" : "failed";
    let archivedMs: number | null = null;
    if (status === "deployed" && anchorMs - doneMs > 150 * DAY && rng.chance(0.8)) {
      status = "archived";
      archivedMs = doneMs + 180 * DAY < anchorMs ? doneMs + 180 * DAY : anchorMs - rng.between(0, 5) * DAY;
    }
    const live = status === "deployed" || status === "archived";
    const deploymentUrl = live ? `https://demos.reachgraph.dev/d/${demoId}` : null;
    if (status === "deployed") {
      demoUrl = deploymentUrl;
      demoSiteId = demoId;
    }
    rows.demo_sites.push([
      demoId,
      leadId,
      analysisId,
      model.name,
      deploymentUrl,
      live
        ? JSON.stringify({
            lighthouse_performance: rng.int(70, 100),
            broken_links: rng.int(0, 2),
            passed: true,
          })
        : status === "failed"
          ? JSON.stringify({ passed: false, error: "build timed out" })
          : null,
      status,
      ts(Math.min(startMs, anchorMs)),
      ts(live ? doneMs : null),
      ts(archivedMs),
      status === "deployed" && rng.chance(0.02),
    ]);
    if (live && rng.chance(0.75)) {
      const videoId = rng.uuid();
      const vModel = pickModel(rng);
      const vStart = doneMs + rng.between(0.01, 0.3) * DAY;
      const vDuration = aiGymRow(
        w,
        rows,
        "video_script",
        vModel,
        leadId,
        Math.min(vStart, anchorMs - HOUR),
        null,
      );
      const render = vDuration + rng.between(2, 20) * 60_000;
      // Rendering queues back up: recent videos may still be in progress.
      const inProgress = vStart + render >= anchorMs || (anchorMs - vStart < 2 * DAY && rng.chance(0.3));
      let vStatus = inProgress ? "generating" : rng.chance(0.94) ? "ready" : "failed";
      if (vStatus === "ready" && status === "archived") vStatus = "archived";
      const ready = vStatus === "ready" || vStatus === "archived";
      const url = ready ? `https://videos.reachgraph.dev/v/${videoId}.mp4` : null;
      if (vStatus === "ready") {
        videoUrl = url;
        videoIdSent = videoId;
      }
      rows.videos.push([
        videoId,
        leadId,
        demoId,
        JSON.stringify({
          scenes: rng.int(3, 7),
          voice: rng.pick(["warm", "upbeat", "calm"]),
          model: vModel.name,
        }),
        url,
        ready ? rng.int(45, 120) : null,
        ready ? JSON.stringify({ plays: rng.int(0, 12), avg_watch_pct: rng.int(15, 100) }) : null,
        vStatus,
        ts(Math.min(vStart, anchorMs)),
        vStatus === "ready" && rng.chance(0.02),
        ts(vStatus === "archived" ? archivedMs : null),
      ]);
    }
  }

  // Outreach.
  if (campaign && analysisDoneMs !== null) {
    const spec = campaign.spec;
    const test = w.abTests.find((t) => t.spec.campaignIndex === CAMPAIGNS.indexOf(spec));
    const variant = test ? pickVariant(rng, test.spec.splitRatio) : null;
    const variantSubject = test?.spec.variants.find((v) => v.id === variant)?.subject ?? null;
    const lift = test && variant ? (test.spec.lift[variant] ?? 1) : 1;
    const steps = Math.max(1, Math.min(5, Math.round(rng.normal(w.emailsPerLead, 0.8, 1, 5))));
    let queuedMs = analysisDoneMs + rng.between(0.2, 2) * DAY;
    const senderEmail = `${rng.pick(["alex", "sam", "jordan", "taylor"])}@outreach.reachgraph.dev`;
    for (let step = 1; step <= steps; step++) {
      if (queuedMs >= anchorMs) break;
      // Paused, completed and archived campaigns stopped queueing a while ago.
      if (spec.status !== "active" && queuedMs > anchorMs - 21 * DAY) break;
      const model = pickModel(rng);
      const sendId = rng.uuid();
      const sentCandidate = inSendWindow(rng, spec, queuedMs + rng.between(0.02, 0.5) * DAY);
      const isQueued = sentCandidate >= anchorMs;
      let status = "queued";
      let sentMs: number | null = null;
      let openedMs: number | null = null;
      let clickedMs: number | null = null;
      let repliedMs: number | null = null;
      if (!isQueued) {
        sentMs = sentCandidate;
        const outcome = rng.weighted([
          ["bounced", step === 1 ? 0.03 : 0.005],
          ["failed", 0.007],
          ["sent", 0.96],
        ]);
        status = outcome;
        if (outcome === "sent") {
          const replyP = model.replyRate * lift * (videoUrl ? 1.3 : 1) * (step === 1 ? 1 : 0.55);
          const replied = rng.chance(replyP);
          const opened = replied || rng.chance(0.47);
          const clicked = opened && rng.chance(demoUrl || videoUrl ? 0.2 : 0.08);
          if (opened) openedMs = sentMs + rng.logNormal(3 * HOUR, 1.2);
          if (clicked && openedMs !== null) clickedMs = openedMs + rng.between(5_000, 20 * 60_000);
          if (replied)
            repliedMs = Math.max(openedMs ?? sentMs, clickedMs ?? sentMs) + rng.logNormal(5 * HOUR, 1);
          // Nothing is observed after the dataset's "now".
          if (openedMs !== null && openedMs >= anchorMs) openedMs = null;
          if (clickedMs !== null && (clickedMs >= anchorMs || openedMs === null)) clickedMs = null;
          if (repliedMs !== null && repliedMs >= anchorMs) repliedMs = null;
        }
      }
      const subject =
        step === 1 ? (variantSubject ?? `An idea for ${company}`) : `Re: An idea for ${company}`;
      rows.email_sends.push([
        sendId,
        campaign.id,
        leadId,
        subject,
        `Hi ${first},\n\nI took a look at ${domain} and put together a quick preview of a faster, mobile-first site.` +
          (demoUrl ? `\n\nDemo: ${demoUrl}` : "") +
          (videoUrl ? `\nVideo: ${videoUrl}` : "") +
          "\n\nWorth a 15-minute call?\n",
        demoUrl,
        videoUrl,
        model.name,
        rng.uuid(),
        ts(sentMs),
        ts(openedMs),
        ts(clickedMs),
        ts(repliedMs),
        status,
        ts(queuedMs),
        step === 1 && test ? test.id : null,
        step === 1 && test ? variant : null,
        step,
        demoUrl ? demoSiteId : null,
        videoUrl ? videoIdSent : null,
      ]);
      const knownOutcome = sentMs !== null && anchorMs - sentMs > 3 * DAY;
      aiGymRow(
        w,
        rows,
        "email_copy",
        model,
        leadId,
        queuedMs - 10 * 60_000,
        knownOutcome || repliedMs ? (repliedMs ? 1 : 0) : null,
      );
      if (sentMs !== null) {
        leadStatus = "contacted";
        lastActivity = Math.max(lastActivity, sentMs);
      }
      if (status === "bounced" || status === "failed") break;
      if (repliedMs !== null) {
        leadStatus = replyThread(w, rows, {
          leadId,
          campaignId: campaign.id,
          contactEmail,
          senderEmail,
          subject,
          sentMs: sentMs ?? queuedMs,
          repliedMs,
        });
        lastActivity = Math.max(lastActivity, repliedMs);
        break;
      }
      queuedMs = (sentMs ?? queuedMs) + rng.between(3, 5) * DAY;
    }
  }

  rows.leads.push([
    leadId,
    company,
    `https://www.${domain}`,
    domain,
    // Contact details in plaintext: the bulk lead path (loadLeads) encrypts and tokenises them as the API does.
    `${first} ${last}`,
    rng.pick([
      "Owner",
      "Managing Partner",
      "Office Manager",
      "Marketing Lead",
      "Founder",
      "Practice Manager",
    ]),
    contactEmail,
    faker.phone.number({ style: "international" }),
    campaign?.spec.industry ?? rng.pick(UNENROLLED_INDUSTRIES),
    faker.location.city(),
    faker.location.state(),
    campaign?.spec.countryCode ?? "US",
    rng.int(2, 250),
    leadStatus,
    ts(createdMs),
    ts(Math.min(lastActivity, anchorMs)),
    platform,
    consentSource,
    ts(createdMs),
    `https://consent.reachgraph.dev/proofs/${leadId}`,
    w.scrapingJobs.get(`${platform}:${month}`) ?? null,
    emailToken(contactEmail),
    domainToken(domain),
  ]);
}

function replyThread(
  w: SeedWorld,
  rows: SeedRows,
  t: {
    leadId: string;
    campaignId: string;
    contactEmail: string;
    senderEmail: string;
    subject: string;
    sentMs: number;
    repliedMs: number;
  },
): "replied" | "meeting_booked" | "won" {
  const { rng, anchorMs } = w;
  const conversationId = rng.uuid();
  const sentiment = rng.weighted(SENTIMENTS);
  const threadId = rng.hex(16);
  const messages: [string, string, string, string, string | null, string | null, number][] = [
    ["outbound", t.senderEmail, t.contactEmail, t.subject, null, null, t.sentMs],
    ["inbound", t.contactEmail, t.senderEmail, `Re: ${t.subject}`, null, sentiment, t.repliedMs],
  ];
  // The first reply's category (issue 13 reply taxonomy), picked from the conversation id rather than the RNG, so
  // every other seeded value stays what it was for the same seed.
  const firstCategory = replyCategory(sentiment, conversationId);
  let lastMs = t.repliedMs;
  let outcome: "replied" | "meeting_booked" | "won" = "replied";
  if (sentiment === "positive" || sentiment === "neutral") {
    const model = pickModel(rng);
    const draftMs = t.repliedMs + rng.between(5, 90) * 60_000;
    if (draftMs < anchorMs) {
      const meetingFollows = sentiment === "positive" && rng.chance(0.42);
      aiGymRow(w, rows, "reply_drafting", model, t.leadId, draftMs - 60_000, meetingFollows ? 1 : 0);
      messages.push([
        "outbound",
        t.senderEmail,
        t.contactEmail,
        `Re: ${t.subject}`,
        model.name,
        null,
        draftMs,
      ]);
      lastMs = draftMs;
      if (meetingFollows) {
        const bookedMs = draftMs + rng.between(0.1, 2) * DAY;
        if (bookedMs < anchorMs) {
          messages.push([
            "inbound",
            t.contactEmail,
            t.senderEmail,
            `Re: ${t.subject}`,
            null,
            "positive",
            bookedMs,
          ]);
          lastMs = bookedMs;
          const meetingId = rng.uuid();
          const scheduledMs = bookedMs + rng.between(1, 10) * DAY;
          const held = scheduledMs < anchorMs;
          const mStatus = held
            ? rng.weighted([
                ["held", 0.8],
                ["no_show", 0.12],
                ["cancelled", 0.08],
              ] as const)
            : "booked";
          outcome = "meeting_booked";
          rows.meetings.push([
            meetingId,
            t.leadId,
            t.campaignId,
            conversationId,
            mStatus,
            ts(bookedMs),
            ts(scheduledMs),
            ts(bookedMs),
          ]);
          if (mStatus === "held" && rng.chance(0.65)) {
            const closeMs = scheduledMs + rng.between(3, 30) * DAY;
            const closed = closeMs < anchorMs;
            const dStatus = closed
              ? rng.weighted([
                  ["won", 0.5],
                  ["lost", 0.5],
                ] as const)
              : "open";
            const amount = rng.logNormal(6_000, 0.6);
            if (dStatus === "won") outcome = "won";
            rows.deals.push([
              rng.uuid(),
              t.leadId,
              t.campaignId,
              meetingId,
              dStatus,
              dStatus === "lost" ? null : amount.toFixed(2),
              "USD",
              ts(dStatus === "won" ? closeMs : null),
              ts(dStatus === "lost" ? closeMs : null),
              ts(scheduledMs),
              ts(closed ? closeMs : scheduledMs),
            ]);
          }
        }
      }
    }
  }
  rows.conversations.push([
    conversationId,
    t.leadId,
    t.campaignId,
    JSON.stringify({ gmail_thread_id: threadId, labels: ["reachgraph", sentiment] }),
    ts(lastMs),
    sentiment === "unsubscribe" || sentiment === "negative" ? "closed" : "active",
    ts(t.repliedMs),
  ]);
  let inbound = 0;
  for (const [direction, from, to, subject, model, sent, atMs] of messages) {
    const messageId = rng.uuid();
    // A later inbound message of the thread is the lead booking the meeting.
    const category = direction === "inbound" ? (inbound++ === 0 ? firstCategory : "meeting_request") : null;
    const label = category ? classifierLabel(category, messageId, atMs) : NO_LABEL;
    rows.conversation_messages.push([
      messageId,
      conversationId,
      direction,
      from,
      to,
      subject,
      category ? inboundBody(category) : "Thanks for getting back to me! Here is a link to pick a time.",
      model,
      sent,
      `${threadId}.${rng.hex(8)}`,
      ts(atMs),
      ...label,
    ]);
  }
  return outcome;
}

/** A number in [0, 1) from the hex digits of a UUID at `offset` (stable, and independent of the seed's RNG). */
function fromId(id: string, offset: number): number {
  return Number.parseInt(id.replace(/-/g, "").slice(offset, offset + 6), 16) / 0x1000000;
}

/**
 * The reply category of a seeded first reply, consistent with its sentiment (README "Reply taxonomy"): some neutral
 * replies are automatic (out-of-office, auto-replies), so the seeded reply rate counts them apart.
 */
function replyCategory(sentiment: string, conversationId: string): string {
  const u = fromId(conversationId, 0);
  switch (sentiment) {
    case "positive":
      return u < 0.7 ? "interested" : "meeting_request";
    case "neutral":
      if (u < 0.25) return "out_of_office";
      if (u < 0.35) return "auto_reply";
      if (u < 0.7) return "information_request";
      return u < 0.9 ? "not_now" : "wrong_person";
    case "negative":
      return "not_interested";
    default:
      return "unsubscribe";
  }
}

const CLASSIFIERS = ["claude-4.5-haiku", "gpt-5-mini"] as const;
/** The categories a classifier confuses a reply's true category with, when it does. */
const CONFUSED_WITH: Record<string, string> = {
  interested: "information_request",
  meeting_request: "interested",
  information_request: "interested",
  not_now: "not_interested",
  wrong_person: "uncategorized",
  out_of_office: "auto_reply",
  auto_reply: "uncategorized",
  not_interested: "not_now",
  unsubscribe: "not_interested",
};
const NO_LABEL = [null, null, null, null, null, null] as const;

/**
 * The classifier's label of an inbound message (model, confidence) and, for about one in five, a reviewer's verdict
 * beside it: the true category. The cheaper classifier errs more often, so classifier accuracy differs by model.
 */
function classifierLabel(
  category: string,
  messageId: string,
  atMs: number,
): readonly [string, string, number, string | null, string | null, string | null] {
  const model = fromId(messageId, 0) < 0.5 ? CLASSIFIERS[0] : CLASSIFIERS[1];
  const errs = fromId(messageId, 6) < (model === CLASSIFIERS[0] ? 0.06 : 0.15);
  const label = errs ? (CONFUSED_WITH[category] ?? "uncategorized") : category;
  const confidence = Math.round(
    (errs ? 0.5 + 0.3 * fromId(messageId, 12) : 0.8 + 0.2 * fromId(messageId, 12)) * 1000,
  );
  const reviewed = fromId(messageId, 18) < 0.2;
  return [
    label,
    model,
    confidence / 1000,
    reviewed ? category : null,
    reviewed ? ts(atMs + 4 * 3_600_000) : null,
    reviewed ? "user:growth-team" : null,
  ];
}

function inboundBody(category: string): string {
  switch (category) {
    case "interested":
      return "This looks great — can we talk this week?";
    case "meeting_request":
      return "Let's do a call — does Thursday work?";
    case "information_request":
      return "Interesting. What would this cost?";
    case "not_now":
      return "Not right now, maybe next quarter.";
    case "wrong_person":
      return "I'm not the right person for this.";
    case "out_of_office":
      return "I'm out of the office until Monday with limited access to email.";
    case "auto_reply":
      return "Thank you for your message. This is an automatic reply.";
    case "not_interested":
      return "Not interested, thanks.";
    default:
      return "Please remove me from your list.";
  }
}
