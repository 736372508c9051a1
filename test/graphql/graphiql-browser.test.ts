import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { describe, expect, it } from "vitest";
import { refreshViews } from "../../src/analytics/refresh-views.js";
import { waitForReplica } from "../../src/db/replication.js";
import { startApi } from "../support/api.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium)
  console.log(`[graphiql browser check] skipped: no Chromium at ${CHROMIUM} (scripts/install-chromium.sh)`);

describe.skipIf(!hasChromium)("GraphiQL in a real headless Chromium", () => {
  it("renders offline at /graphql and its default leaderboard query returns data", async () => {
    const api = await startApi();
    const key = await api.keyWith("analytics:read");
    const model = `browser-model-${randomBytes(3).toString("hex")}`;
    await api.db.primary.query(
      `INSERT INTO ai_gym_performance (task_type, model_name, cost, duration_seconds, quality_score, conversion_metric, created_at)
       SELECT 'website_analysis', $1, 0.05, 30 + g, 90, (g % 2)::numeric, now() - make_interval(hours => g)
         FROM generate_series(1, 40) AS g`,
      [model],
    );
    await refreshViews(api.db.primary, "test");
    if (api.db.replica) await waitForReplica(api.db.primary, api.db.replica);

    const profile = await mkdtemp(path.join(tmpdir(), "reachgraph-chromium-"));
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
    try {
      const page = await browser.newPage();
      const outside: string[] = [];
      page.on("request", (r) => {
        const u = new URL(r.url());
        if (!["127.0.0.1", "localhost"].includes(u.hostname) && !["blob:", "data:"].includes(u.protocol))
          outside.push(r.url());
      });
      // The key a user would type into GraphiQL's Headers tab.
      await page.route("**/graphql", (route) =>
        route.continue({ headers: { ...route.request().headers(), authorization: `Bearer ${key}` } }),
      );
      const pageErrors: string[] = [];
      page.on("pageerror", (e) => pageErrors.push(e.message));

      const res = await page.goto(`${api.url}/graphql`, { waitUntil: "load" });
      expect(res?.status()).toBe(200);
      await expect(page.title()).resolves.toMatch(/GraphiQL/);
      const run = page.getByRole("button", { name: /execute/i }).first();
      await run.waitFor({ timeout: 30_000 });
      await expect(page.locator("body")).toBeDefined();
      expect(await page.content()).toContain("modelLeaderboard");

      const answered = page.waitForResponse(
        (r) =>
          r.request().method() === "POST" && (r.request().postData() ?? "").includes("query Leaderboard"),
      );
      await run.click();
      const body = (await (await answered).json()) as {
        data: { modelLeaderboard: { entries: { modelName: string; usageCount: number }[] } };
        extensions: { readSource: { database: string } };
      };
      expect(body.data.modelLeaderboard.entries.find((e) => e.modelName === model)?.usageCount).toBe(40);
      expect(body.extensions.readSource.database).toBe(api.db.replica ? "replica" : "primary");
      // …and the result pane shows it.
      await page.waitForFunction((m) => document.body.innerText.includes(m), model, { timeout: 30_000 });
      expect(outside, "requests that left the machine").toEqual([]);
      expect(pageErrors).toEqual([]);
    } finally {
      await browser.close();
      await rm(profile, { recursive: true, force: true });
    }
  });
});
