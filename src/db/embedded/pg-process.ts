import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
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
    const args = ["-D", dataDir, "-p", String(port)];
    for (const [key, value] of Object.entries(settings)) args.push("-c", `${key}=${value}`);
    this.log = createWriteStream(logFile, { flags: "a" });
    const child = spawn(postgresBin, args, {
      ...(runAs ?? {}),
      env: { ...process.env, LC_MESSAGES: "C" },
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
        throw new Error(`${this.options.name} PostgreSQL did not accept connections within ${STARTUP_TIMEOUT_MS} ms`);
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
