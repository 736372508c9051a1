import { execFileSync } from "node:child_process";
import { chown, readdir, stat } from "node:fs/promises";
import path from "node:path";

/** The OS account PostgreSQL runs under. PostgreSQL refuses to run as root, so as root we switch to `postgres`. */
export type RunAs = { uid: number; gid: number } | undefined;

export function resolveRunAs(): RunAs {
  if (process.getuid?.() !== 0) return undefined;
  const lookup = () => ({
    uid: Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim()),
    gid: Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim()),
  });
  try {
    return lookup();
  } catch {
    // No postgres account yet (a bare container): create a system account without a login shell or home.
    try {
      execFileSync("useradd", [
        "--system",
        "--user-group",
        "--no-create-home",
        "--shell",
        "/usr/sbin/nologin",
        "postgres",
      ]);
      return lookup();
    } catch (err) {
      throw new Error(
        "Running as root, and PostgreSQL refuses to run as root: create an OS user named `postgres` " +
          "(useradd --system --user-group postgres) or run reachgraph as a normal user.",
        { cause: err },
      );
    }
  }
}

/**
 * Whether the run-as user can reach `dir`: every ancestor directory must grant it search (x) permission. A clone
 * under a 0700 home directory does not, and PostgreSQL would fail with a bare "permission denied".
 */
export async function isReachableBy(runAs: RunAs, dir: string): Promise<boolean> {
  if (!runAs) return true;
  let current = path.dirname(path.resolve(dir));
  for (;;) {
    const s = await stat(current).catch(() => undefined);
    if (s) {
      const bit = s.uid === runAs.uid ? 0o100 : s.gid === runAs.gid ? 0o010 : 0o001;
      if ((s.mode & bit) === 0) return false;
    }
    const parent = path.dirname(current);
    if (parent === current) return true;
    current = parent;
  }
}

export async function giveTo(runAs: RunAs, file: string): Promise<void> {
  if (runAs) await chown(file, runAs.uid, runAs.gid);
}

/** chown -R, for a data directory copied by root. */
export async function giveTreeTo(runAs: RunAs, dir: string): Promise<void> {
  if (!runAs) return;
  await chown(dir, runAs.uid, runAs.gid);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await giveTreeTo(runAs, full);
    else await chown(full, runAs.uid, runAs.gid);
  }
}
