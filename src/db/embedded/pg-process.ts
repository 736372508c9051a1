import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
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

/**
 * One `postgres` server process. Readiness is decided by connecting, not by parsing log lines, so the same code
 * works for a primary ("ready to accept connections") and a hot standby ("ready to accept read-only connections").
 */
export class PgProcess {
  private child: ChildProcess | undefined;
  private log: WriteStream | undefined;
  private exited: Promise<number | null> | undefined;
  private lastOutput = "";

  constructor(private readonly options: PgProcessOptions) {}

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(): Promise<void> {
    const { postgresBin, dataDir, port, settings, runAs, logFile } = this.options;
    await this.stopOrphan();
    const args = ["-D", dataDir, "-p", String(port)];
    for (const [key, value] of Object.entries(settings)) args.push("-c", `${key}=${value}`);
    this.log = createWriteStream(logFile, { flags: "a" });
    const child = spawn(postgresBin, args, {
      ...(runAs ?? {}),
      env: { ...process.env, LC_MESSAGES: "C" },
      // Its own process group: a terminal's Ctrl-C reaches only us, and we stop the servers in order.
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    const onOutput = (chunk: Buffer) => {
      this.log?.write(chunk);
      this.lastOutput = (this.lastOutput + chunk.toString("utf8")).slice(-4_000);
    };
    child.stdout?.on("data", onOutput);
    child.stderr?.on("data", onOutput);
    this.exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));

    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    let exitedEarly = false;
    void this.exited.then(() => {
      exitedEarly = true;
    });
    for (;;) {
      if (exitedEarly) {
        throw new Error(`${this.options.name} PostgreSQL exited during start-up:\n${this.lastOutput.trim()}`);
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

  /**
   * A server left running by a reachgraph process that was killed (SIGKILL, a crash) still holds the data directory.
   * It is an orphan when its parent is gone (re-parented to init) or is no longer a node process; a server whose
   * parent is a live node process belongs to another running reachgraph and is left alone.
   */
  private async stopOrphan(): Promise<void> {
    const pidFile = await readFile(path.join(this.options.dataDir, "postmaster.pid"), "utf8").catch(
      () => undefined,
    );
    const pid = Number(pidFile?.split("\n")[0]);
    if (!pid || !isAlive(pid)) return;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (!cmdline.includes(this.options.dataDir)) return;
    const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    const parentCmd = ppid > 1 ? await readFile(`/proc/${ppid}/cmdline`, "utf8").catch(() => "") : "";
    if (ppid > 1 && parentCmd.includes("node")) return;
    process.kill(pid, "SIGINT");
    const deadline = Date.now() + SHUTDOWN_TIMEOUT_MS;
    while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
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

  /** Fast shutdown (SIGINT): open sessions are ended, the server checkpoints and exits. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || !this.exited) return;
    if (this.running) {
      child.kill("SIGINT");
      const timer = setTimeout(() => child.kill("SIGQUIT"), SHUTDOWN_TIMEOUT_MS);
      await this.exited;
      clearTimeout(timer);
    }
    this.child = undefined;
    await new Promise<void>((resolve) => (this.log ? this.log.end(resolve) : resolve()));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
