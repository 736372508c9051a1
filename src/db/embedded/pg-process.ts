import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, readFileSync, type WriteStream } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import type { RunAs } from "./run-as.js";

export type PgProcessOptions = {
  name: string;
  postgresBin: string;
  dataDir: string;
  port: number;
  /** `-c name=value` settings. */
  settings: Record<string, string | number>;
  runAs: RunAs;
  logFile: string;
  password: string;
};

const STARTUP_TIMEOUT_MS = 60_000;
const SHUTDOWN_TIMEOUT_MS = 20_000;
/** How long a synchronous kill waits for the servers to go: an immediate shutdown takes milliseconds. */
const KILL_SYNC_WAIT_MS = 3_000;

/**
 * Every server this process has spawned and not yet seen exit, in start order. The servers run in their own process
 * group (see start), so nothing else stops them when node goes: whatever ends node must stop these first.
 */
const spawned = new Set<PgProcess>();
let exitHookInstalled = false;

/** Fast shutdown of every server this process started and has not stopped, last started first. */
export async function stopAllPgProcesses(): Promise<void> {
  for (const server of [...spawned].reverse()) await server.stop();
}

/**
 * Sends `signal` to every server this process started and waits (blocking, a few seconds at most) until they are
 * gone — for `process.on("exit")`, where nothing asynchronous runs any more. SIGQUIT is PostgreSQL's immediate
 * shutdown: no checkpoint, crash recovery at the next start, nothing lost that was committed.
 */
export function killAllPgProcessesSync(signal: NodeJS.Signals = "SIGQUIT"): void {
  const pids = [...spawned].flatMap((server) => (server.pid ? [server.pid] : []));
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + KILL_SYNC_WAIT_MS;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  // A server that has exited stays a zombie until node reaps it, which it cannot do while blocked here.
  while (pids.some(isRunning) && Date.now() < deadline) Atomics.wait(pause, 0, 0, 10);
}

/** A process exit that no one planned for (process.exit anywhere, the grace timeout) still takes the servers down. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => killAllPgProcessesSync("SIGQUIT"));
}

/**
 * One `postgres` server process. Readiness is decided by connecting, not by parsing log lines, so the same code
 * works for a primary ("ready to accept connections") and a hot standby ("ready to accept read-only connections").
 */
export class PgProcess {
  private child: ChildProcess | undefined;
  private log: WriteStream | undefined;
  private exited: Promise<number | null> | undefined;
  private lastOutput = "";
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: PgProcessOptions) {}

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The postmaster's pid while it runs. */
  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  /** Resolves once the server accepts connections; `signal` aborts the wait (and stops the server). */
  async start(signal?: AbortSignal): Promise<void> {
    // The caller has stopped an orphan of this data directory first (stopOrphanServer; startEmbeddedCluster does,
    // before it chooses ports).
    const { postgresBin, dataDir, port, settings, runAs, logFile } = this.options;
    const args = ["-D", dataDir, "-p", String(port)];
    for (const [key, value] of Object.entries(settings)) args.push("-c", `${key}=${value}`);
    this.lastOutput = "";
    this.log = createWriteStream(logFile, { flags: "a" });
    const child = spawn(postgresBin, args, {
      ...(runAs ?? {}),
      env: { ...process.env, LC_MESSAGES: "C" },
      // Its own process group: a terminal's Ctrl-C reaches only us, and we stop the servers in order.
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    installExitHook();
    spawned.add(this);
    const onOutput = (chunk: Buffer) => {
      this.log?.write(chunk);
      this.lastOutput = (this.lastOutput + chunk.toString("utf8")).slice(-4_000);
    };
    child.stdout?.on("data", onOutput);
    child.stderr?.on("data", onOutput);
    let exitedEarly = false;
    this.exited = new Promise<number | null>((resolve) => {
      child.once("exit", (code) => resolve(code));
      // Instead of exit when the binary cannot be run at all (EACCES, ENOENT).
      child.once("error", (err) => {
        this.lastOutput += err.message;
        resolve(null);
      });
    }).then((code) => {
      spawned.delete(this);
      exitedEarly = true;
      return code;
    });

    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    for (;;) {
      if (exitedEarly) {
        await this.stop();
        throw new Error(`${this.options.name} PostgreSQL exited during start-up:\n${this.lastOutput.trim()}`);
      }
      if (signal?.aborted) {
        await this.stop();
        signal.throwIfAborted();
      }
      if (await this.acceptsConnections()) return;
      if (Date.now() > deadline) {
        await this.stop();
        throw new Error(
          `${this.options.name} PostgreSQL did not accept connections within ${STARTUP_TIMEOUT_MS} ms`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private async acceptsConnections(): Promise<boolean> {
    const client = new pg.Client({
      host: "127.0.0.1",
      port: this.options.port,
      user: "postgres",
      password: this.options.password,
      database: "postgres",
      connectionTimeoutMillis: 1_000,
    });
    client.on("error", () => {});
    try {
      await client.connect();
      await client.query("SELECT 1");
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => {});
    }
  }

  /** Fast shutdown (SIGINT): open sessions are ended, the server checkpoints and exits. Safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= this.stopChild().finally(() => {
      this.stopping = undefined;
    });
    return this.stopping;
  }

  private async stopChild(): Promise<void> {
    const child = this.child;
    if (!child || !this.exited) return;
    if (this.running) {
      child.kill("SIGINT");
      const timer = setTimeout(() => child.kill("SIGQUIT"), SHUTDOWN_TIMEOUT_MS);
      await this.exited;
      clearTimeout(timer);
    }
    this.child = undefined;
    const log = this.log;
    this.log = undefined;
    await new Promise<void>((resolve) => (log ? log.end(resolve) : resolve()));
  }
}

export type OrphanCheck =
  | { state: "none" }
  | { state: "stopped"; pid: number }
  | { state: "in-use"; pid: number };

/**
 * A server left running by a reachgraph process that was killed (SIGKILL, a crash) still holds the data directory:
 * it is stopped here. It is an orphan when its parent is gone (re-parented to init) or is no longer a node process;
 * a server whose parent is a live node process belongs to another running reachgraph and is reported "in-use".
 */
export async function stopOrphanServer(dataDir: string): Promise<OrphanCheck> {
  const pidFile = await readFile(path.join(dataDir, "postmaster.pid"), "utf8").catch(() => undefined);
  const pid = Number(pidFile?.split("\n")[0]);
  if (!pid || !isRunning(pid)) return { state: "none" };
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  if (!cmdline.includes(dataDir)) return { state: "none" };
  if ([...spawned].some((server) => server.pid === pid)) return { state: "in-use", pid };
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  const parentCmd = ppid > 1 ? await readFile(`/proc/${ppid}/cmdline`, "utf8").catch(() => "") : "";
  if (ppid > 1 && parentCmd.includes("node")) return { state: "in-use", pid };
  process.kill(pid, "SIGINT");
  const deadline = Date.now() + SHUTDOWN_TIMEOUT_MS;
  while (isRunning(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (isRunning(pid)) process.kill(pid, "SIGQUIT");
  return { state: "stopped", pid };
}

/** Alive and not a zombie (an exited child that node has not reaped yet still answers kill(pid, 0)). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    // no /proc (not Linux): kill(pid, 0) is the best answer there is
    return true;
  }
}
