/**
 * As root, PostgreSQL runs as the OS user `postgres`, which cannot enter a 0700 directory such as /root: a clone
 * there (checkout and node_modules) must still start, with its data directory and the PostgreSQL binaries copied
 * to the temp directory, answer /readyz, and stop without leaving a server behind.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, copyFile, mkdir, mkdtemp, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
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

const isRoot = process.getuid?.() === 0;
if (!isRoot)
  console.log("[start-0700] skipped: only root runs PostgreSQL as another user (the `postgres` account)");

const repo = path.resolve(import.meta.dirname, "../..");
let base: string | undefined;
let started: NpmStart | undefined;
let clusterDir: string | undefined;

afterAll(async () => {
  // Where the data directory went, even when the start failed before its banner.
  clusterDir ??= /"using":"([^"]+)","msg":"the postgres OS user cannot reach the data directory/.exec(
    started?.output() ?? "",
  )?.[1];
  if (clusterDir) await killEverything(started, clusterDir);
  else if (started) killGroup(started.pgid, "SIGKILL");
  if (base) await rm(base, { recursive: true, force: true });
  if (clusterDir) await rm(clusterDir, { recursive: true, force: true });
});

/**
 * A 0700 directory for the clone, on the repository's filesystem so that node_modules can be hard-linked (a copy
 * of it would take far longer than the test).
 */
async function privateDirectory(): Promise<string> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), "reachgraph-0700-"));
  if ((await stat(tmp)).dev === (await stat(repo)).dev) return tmp;
  await rm(tmp, { recursive: true });
  await mkdir(path.join(repo, ".test-data"), { recursive: true });
  return mkdtemp(path.join(repo, ".test-data", "reachgraph-0700-"));
}

/** The working tree as it is (tracked and new files, not ignored ones), node_modules and the generated client. */
async function cloneInto(dir: string): Promise<void> {
  const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: repo,
    encoding: "utf8",
  })
    .split("\0")
    .filter(Boolean);
  for (const file of files) {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await copyFile(path.join(repo, file), path.join(dir, file)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOENT") throw err; // deleted in the working tree
    });
  }
  execFileSync("cp", ["-al", path.join(repo, "node_modules"), path.join(dir, "node_modules")]);
  execFileSync("cp", ["-a", path.join(repo, "src", "generated"), path.join(dir, "src", "generated")]);
}

describe.runIf(isRoot)("a clone under a 0700 directory, as root", () => {
  it("starts, answers /readyz, and stops everything", { timeout: 180_000 }, async () => {
    base = await privateDirectory();
    await chmod(base, 0o700);
    const clone = path.join(base, `reachgraph-${randomBytes(3).toString("hex")}`);
    await cloneInto(clone);

    const httpPort = await freePort();
    started = spawnNpmStart(clone, {
      dataDir: path.join(clone, ".data"),
      httpPort,
      primaryPort: await freePort(),
      replicaPort: await freePort(),
    });
    await waitUntilUp(started);
    const log = started.output();
    clusterDir = /^ {2}data {7}(\S+)/m.exec(log)?.[1];
    expect(clusterDir, log).toBeDefined();
    expect(clusterDir?.startsWith(base), log).toBe(false);
    expect(log).toMatch(/using a copy in the temp directory|"using":"[^"]*reachgraph-pg-/);

    const servers = postgresOf(clusterDir as string);
    expect(servers).toHaveLength(2);
    for (const pid of servers) {
      const binary = execFileSync("readlink", [`/proc/${pid}/exe`], { encoding: "utf8" }).trim();
      expect(binary.startsWith(base)).toBe(false);
      expect(path.basename(path.dirname(path.dirname(binary)))).toMatch(/^reachgraph-pg-/);
    }
    const ready = await fetch(`http://127.0.0.1:${httpPort}/readyz`);
    expect(ready.status, await ready.text()).toBe(200);

    killGroup(started.pgid, "SIGINT");
    expect(await waitForGroupGone(started.pgid, 60_000)).toEqual([]);
    expect(postgresOf(clusterDir as string), started.output()).toEqual([]);
    expect(started.output()).toMatch(/"exitCode":0,"msg":"stopped"/);
  });
});
