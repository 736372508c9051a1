import { readdir, readFile, readlink } from "node:fs/promises";
import net from "node:net";

/** Whether a server could listen on 127.0.0.1:`port` now (as PostgreSQL would: listen_addresses = 127.0.0.1). */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", (err: NodeJS.ErrnoException) =>
      err.code === "EADDRINUSE" || err.code === "EACCES" ? resolve(false) : reject(err),
    );
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** The first free port from `from` upwards that is not in `avoid`; one the OS picks when a long run is taken. */
export async function findFreePort(from: number, avoid: ReadonlySet<number>): Promise<number> {
  for (let port = from; port < from + 100 && port <= 65_535; port++) {
    if (!avoid.has(port) && (await isPortFree(port))) return port;
  }
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer();
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => {
        const address = server.address();
        server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject()));
      });
    });
    if (!avoid.has(port)) return port;
  }
}

/**
 * Who listens on `port`, as "pid 123 (command line)", or "unknown". Linux only: the listening socket's inode from
 * /proc/net/tcp{,6}, then the process holding that socket among /proc/<pid>/fd — which only root can read for
 * other users' processes.
 */
export async function describePortHolder(port: number): Promise<string> {
  const inodes = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    const text = await readFile(table, "utf8").catch(() => "");
    for (const line of text.split("\n").slice(1)) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode …
      const fields = line.trim().split(/\s+/);
      const localPort = Number.parseInt(fields[1]?.split(":")[1] ?? "", 16);
      if (fields[3] === "0A" && localPort === port && fields[9] && fields[9] !== "0") inodes.add(fields[9]);
    }
  }
  if (inodes.size === 0) return "unknown";
  const holders: string[] = [];
  const pids = (await readdir("/proc").catch(() => [] as string[])).filter((name) => /^\d+$/.test(name));
  for (const pid of pids) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => "");
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode && inodes.has(inode)) {
        const cmdline = (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => ""))
          .split("\0")
          .join(" ")
          .trim();
        holders.push(`pid ${pid} (${cmdline.length > 160 ? `${cmdline.slice(0, 160)}…` : cmdline || "?"})`);
        break;
      }
    }
  }
  return holders.length > 0 ? holders.join(", ") : "unknown";
}
