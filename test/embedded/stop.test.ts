/**
 * Ctrl-C on `npm start`: the terminal signals the whole foreground process group, so node gets the signal itself and
 * again relayed by npm and by tsx, within milliseconds. Whatever the burst, everything stops once, in order, the
 * process exits 0, and no PostgreSQL server of the data directory is left running.
 */
import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import path from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { freePort } from "../support/urls.js";
import {
  killEverything,
  killGroup,
  type NpmStart,
  postgresOf,
  spawnNpmStart,
  waitForGroupGone,
  waitUntilUp,
} from "./npm-start.js";

const repoRoot = path.resolve(import.meta.dirname, "../..");
// One data directory for every case: only the first start pays for initdb and the migrations.
const dataDir = path.join(repoRoot, ".test-data", `stop-${randomBytes(4).toString("hex")}`);
let current: NpmStart | undefined;
let clusterDir = dataDir;

afterEach(async () => {
  await killEverything(current, clusterDir);
  current = undefined;
});
afterAll(async () => {
  await killEverything(undefined, clusterDir);
  await rm(dataDir, { recursive: true, force: true });
  await rm(clusterDir, { recursive: true, force: true });
});

describe("stopping npm start", () => {
  it.each([
    { signal: "SIGINT", times: 1 },
    { signal: "SIGINT", times: 2 },
    { signal: "SIGTERM", times: 1 },
    { signal: "SIGTERM", times: 2 },
  ] as const)(
    "$signal to the process group $times time(s) stops everything",
    { timeout: 120_000 },
    async ({ signal, times }) => {
      const started = spawnNpmStart(repoRoot, {
        dataDir,
        httpPort: await freePort(),
        primaryPort: await freePort(),
        replicaPort: await freePort(),
      });
      current = started;
      await waitUntilUp(started);
      // The banner names the data directory actually used (a fallback under the temp dir when .test-data is out of
      // the postgres user's reach).
      clusterDir = /^ {2}data {7}(\S+)/m.exec(started.output())?.[1] ?? dataDir;
      expect(postgresOf(clusterDir).length).toBe(2);

      for (let i = 0; i < times; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 2));
        killGroup(started.pgid, signal);
      }
      const npmExit = await started.exited;
      // npm runs the script through `sh -c`, which dies of the group's signal at once; npm then re-raises that signal
      // on itself, so npm's own exit says nothing about node's. Node stays in the group until it has stopped.
      const survivors = await waitForGroupGone(started.pgid, 60_000);
      const log = started.output();

      expect(survivors, log).toEqual([]);
      expect(postgresOf(clusterDir), log).toEqual([]);
      expect([0, signal]).toContain(npmExit.code ?? npmExit.signal);
      expect(log).toMatch(/"exitCode":0,"msg":"stopped"/);
      expect(log.match(/"msg":"shutting down"/g)).toHaveLength(1);
      expect(log).not.toMatch(/second stop request|"level":(50|60)/);
    },
  );
});
