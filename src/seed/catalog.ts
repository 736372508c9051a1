/** The fixed cast of the demo dataset: campaigns, models, experiments. Rates are realistic for cold B2B email. */

/**
 * The dataset `npm start` seeds on the first embedded start: this seed and, by default (SEED_DEMO_LEADS), this many
 * leads — enough for the dental subject-line test to be decided by the first ab_evaluate look (test/seed.test.ts).
 */
export const FIRST_START_SEED = 7;
export const FIRST_START_LEADS = 1500;

export type CampaignSpec = {
  name: string;
  sourceTypes: string[];
  industry: string;
  countryCode: string;
  timezone: string;
  /** UTC hour at which the campaign's 09:00 local send window opens (standard time; good enough for demo data). */
  windowStartUtcHour: number;
  dailyLimit: number;
  status: "active" | "paused" | "completed" | "archived";
  /** Share of enrolled leads. */
  weight: number;
};

export const CAMPAIGNS: readonly CampaignSpec[] = [
  {
    name: "US Dental Clinics — Website Refresh",
    sourceTypes: ["google_maps"],
    industry: "Dental clinic",
    countryCode: "US",
    timezone: "America/New_York",
    windowStartUtcHour: 14,
    dailyLimit: 150,
    status: "active",
    weight: 3,
  },
  {
    name: "UK Law Firms — Free Site Audit",
    sourceTypes: ["google_maps", "clutch"],
    industry: "Law firm",
    countryCode: "GB",
    timezone: "Europe/London",
    windowStartUtcHour: 9,
    dailyLimit: 100,
    status: "active",
    weight: 2,
  },
  {
    name: "DACH Restaurants — Demo Sites",
    sourceTypes: ["yelp", "google_maps"],
    industry: "Restaurant",
    countryCode: "DE",
    timezone: "Europe/Berlin",
    windowStartUtcHour: 8,
    dailyLimit: 200,
    status: "paused",
    weight: 2,
  },
  {
    name: "US Roofers — Personal Video",
    sourceTypes: ["google_maps", "yelp"],
    industry: "Roofing contractor",
    countryCode: "US",
    timezone: "America/Chicago",
    windowStartUtcHour: 15,
    dailyLimit: 120,
    status: "active",
    weight: 2,
  },
  {
    name: "US Marketing Agencies — LinkedIn",
    sourceTypes: ["linkedin", "apollo"],
    industry: "Marketing agency",
    countryCode: "US",
    timezone: "America/Los_Angeles",
    windowStartUtcHour: 17,
    dailyLimit: 250,
    status: "completed",
    weight: 1.5,
  },
  {
    name: "AU Fitness Studios — Pilot",
    sourceTypes: ["google_maps"],
    industry: "Fitness studio",
    countryCode: "AU",
    timezone: "Australia/Sydney",
    windowStartUtcHour: 22,
    dailyLimit: 60,
    status: "archived",
    weight: 0.5,
  },
];

export const UNENROLLED_INDUSTRIES = [
  "Accounting firm",
  "Veterinary clinic",
  "Real estate agency",
  "Plumber",
];
export const SOURCE_PLATFORMS = ["google_maps", "yelp", "linkedin", "clutch", "apollo"] as const;

export type ModelSpec = {
  name: string;
  /** Mean quality score 0–100 and its spread. */
  quality: [number, number];
  /** Median USD cost of a website analysis; other tasks scale it. */
  cost: number;
  /** Median seconds for a website analysis; other tasks scale it. */
  duration: number;
  /** Reply probability of a first email this model wrote. */
  replyRate: number;
  weight: number;
};

export const MODELS: readonly ModelSpec[] = [
  { name: "claude-4.5-sonnet", quality: [91, 4], cost: 0.08, duration: 22, replyRate: 0.085, weight: 4 },
  { name: "gpt-5", quality: [89, 5], cost: 0.07, duration: 19, replyRate: 0.078, weight: 3 },
  { name: "gemini-2.5-pro", quality: [86, 6], cost: 0.045, duration: 16, replyRate: 0.068, weight: 2 },
  { name: "llama-3.1-8b-local", quality: [71, 9], cost: 0.0015, duration: 9, replyRate: 0.045, weight: 1 },
];

export const TASK_TYPES = {
  website_analysis: { cost: 1, duration: 1 },
  demo_generation: { cost: 3.5, duration: 6 },
  video_script: { cost: 0.6, duration: 0.7 },
  email_copy: { cost: 0.15, duration: 0.25 },
  reply_drafting: { cost: 0.2, duration: 0.3 },
} as const;
export type TaskType = keyof typeof TASK_TYPES;

export type AbTestSpec = {
  name: string;
  campaignIndex: number;
  elementType: string;
  variants: { id: string; subject: string }[];
  splitRatio: Record<string, number>;
  /** Reply-rate multiplier of each variant. */
  lift: Record<string, number>;
  /** completed: decided by hand before the dataset's end; active: the ab_evaluate job looks at it. */
  status: "active" | "completed";
  winningVariant?: string;
  /** The decision rule's minimum sample per variant (migration 0022); default 200. */
  minSamplePerVariant?: number;
};

export const AB_TESTS: readonly AbTestSpec[] = [
  {
    name: "Dental: question vs. statement subject",
    campaignIndex: 0,
    elementType: "subject_line",
    variants: [
      { id: "A", subject: "Quick question about your website" },
      { id: "B", subject: "I rebuilt your homepage (2-min preview)" },
    ],
    splitRatio: { A: 0.5, B: 0.5 },
    // A clear effect on enough leads: the job's first look on the demo database decides it (README "A/B tests
    // that decide themselves"), so GraphiQL shows a decided test with its evidence on first start.
    lift: { A: 0.4, B: 2.6 },
    status: "active",
    minSamplePerVariant: 60,
  },
  {
    name: "Law firms: audit vs. demo framing",
    campaignIndex: 1,
    elementType: "subject_line",
    variants: [
      { id: "A", subject: "3 issues on your firm's website" },
      { id: "B", subject: "A faster site for your firm, already built" },
      { id: "C", subject: "Your clients search on mobile — a preview" },
    ],
    splitRatio: { A: 0.4, B: 0.3, C: 0.3 },
    lift: { A: 1, B: 1.1, C: 0.95 },
    status: "active",
  },
  {
    name: "Roofers: video thumbnail in first email",
    campaignIndex: 3,
    elementType: "email_body",
    variants: [
      { id: "control", subject: "A 60-second video for your roofing business" },
      { id: "thumbnail", subject: "▶ A 60-second video for your roofing business" },
    ],
    splitRatio: { control: 0.5, thumbnail: 0.5 },
    lift: { control: 1, thumbnail: 1.2 },
    status: "active",
  },
];

export const SENTIMENTS = [
  ["positive", 0.45],
  ["neutral", 0.25],
  ["negative", 0.2],
  ["unsubscribe", 0.1],
] as const;
