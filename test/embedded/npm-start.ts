/**
 * `npm start` as a user runs it, for the tests of stopping and starting: its own process group (like a terminal's
 * foreground job), so a test can signal the whole group the way Ctrl-C does; and /proc scans that tell whether any
 * process of that group, or any PostgreSQL server of a data directory, is still alive.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

export type NpmStart = {
  child: ChildProcess;
  /** npm's pid, which is also the process group id (detached: npm leads a new group). */
  pgid: number;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
};

export type NpmStartEnv = {
  dataDir: string;
  httpPort: number;
  primaryPort?: number;
  replicaPort?: number;
};

/** The environment of a start that must not see the caller's database settings. */
function startEnv(cwdEnv: NpmStartEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of [
    "DATABASE_URL",
    "DATABASE_REPLICA_URL",
    "DATABASE_REPLICA_URLS",
    "EMBEDDED_REPLICAS",
    "EMBEDDED_PG_PORT",
    "EMBEDDED_PG_REPLICA_PORT",
    "NODE_OPTIONS",
  ]) {
    delete env[name];
  }
  return {
    ...env,
    NODE_ENV: "development",
    REACHGRAPH_DATA_DIR: cwdEnv.dataDir,
    HOST: "127.0.0.1",
    PORT: String(cwdEnv.httpPort),
    ...(cwdEnv.primaryPort ? { EMBEDDED_PG_PORT: String(cwdEnv.primaryPort) } : {}),
    ...(cwdEnv.replicaPort ? { EMBEDDED_PG_REPLICA_PORT: String(cwdEnv.replicaPort) } : {}),
    SEED_ON_FIRST_START: "false",
    LOG_LEVEL: "info",
  };
}

/** Spawns `npm start` in `cwd`; see waitUntilUp. */
export function spawnNpmStart(cwd: string, env: NpmStartEnv): NpmStart {
  const child = spawn("npm", ["start"], {
    cwd,
    detached: true,
    env: startEnv(env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr?.on("data", (c: Buffer) => (output += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  if (!child.pid) throw new Error("npm start did not spawn");
  return { child, pgid: child.pid, output: () => output, exited };
}

/** Resolves once the banner is printed; throws with the output when npm start exits or hangs first. */
export async function waitUntilUp(started: NpmStart, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  void started.exited.then(() => (gone = true));
  while (!/reachgraph is up in/.test(started.output())) {
    if (gone) throw new Error(`npm start exited before it was up:\n${started.output()}`);
    if (Date.now() > deadline) {
      killGroup(started.pgid, "SIGKILL");
      throw new Error(`npm start was not up within ${timeoutMs} ms:\n${started.output()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function procEntries(): number[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}

function read(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

/** Pids of the live (not zombie) processes in process group `pgid`. */
export function groupMembers(pgid: number): number[] {
  return procEntries().filter((pid) => {
    const stat = read(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[0] !== "Z" && Number(fields[2]) === pgid;
  });
}

/**
 * Pids of PostgreSQL servers whose command line names a directory under `dataDir` (the postmasters). A backend
 * just forked (a new connection, an autovacuum worker) still shows its postmaster's command line until it sets its
 * title, so processes whose parent is one of them are not counted.
 */
export function postgresOf(dataDir: string): number[] {
  const servers = new Map<number, number>();
  for (const pid of procEntries()) {
    const stat = read(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] === "Z") continue;
    const cmdline = read(`/proc/${pid}/cmdline`).split("\0");
    if (/postgres$/.test(cmdline[0] ?? "") && cmdline.some((arg) => arg.startsWith(dataDir)))
      servers.set(pid, Number(fields[1]));
  }
  return [...servers].filter(([, ppid]) => !servers.has(ppid)).map(([pid]) => pid);
}

export function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

/** For cleanup after a failure: nothing of this start may outlive the test. */
export async function killEverything(started: NpmStart | undefined, dataDir: string): Promise<void> {
  if (started) killGroup(started.pgid, "SIGKILL");
  for (const pid of postgresOf(dataDir)) {
    try {
      process.kill(pid, "SIGQUIT");
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + 5_000;
  while (postgresOf(dataDir).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const pid of postgresOf(dataDir)) process.kill(pid, "SIGKILL");
}

/** Polls until the group has no live member; returns the survivors if it still has some after `timeoutMs`. */
export async function waitForGroupGone(pgid: number, timeoutMs = 5_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const members = groupMembers(pgid);
    if (members.length === 0 || Date.now() > deadline) return members;
    await new Promise((r) => setTimeout(r, 25));
  }
}
