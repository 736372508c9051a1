import { describe, expect, it } from "vitest";
import { migrate } from "../src/db/migrate.js";
import { ensurePartitions, ensurePartitionsBetween } from "../src/db/partitions.js";
import { logger, scratchDatabase } from "./support/db.js";

describe("monthly partitioning of email_sends and ai_gym_performance", async () => {
  const { url, pool: db } = await scratchDatabase();
  await migrate(url, { logger });

  const partitionOf = async (table: string, createdAt: string) =>
    (
      await db.query<{ part: string }>(
        `WITH r AS (INSERT INTO ${table} (created_at) VALUES ($1) RETURNING tableoid) SELECT tableoid::regclass::text AS part FROM r`,
        [createdAt],
      )
    ).rows[0]?.part;

  it("keeps partitions ahead of the current month", async () => {
    await ensurePartitions(db, 1, 3);
    const now = new Date();
    const months = [0, 1, 2, 3].map((k) => {
      const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + k, 1));
      return `${d.getUTCFullYear()}_${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
    });
    const r = await db.query<{ relname: string }>(
      "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'email_sends'::regclass",
    );
    const names = r.rows.map((x) => x.relname);
    for (const m of months) expect(names).toContain(`email_sends_p${m}`);
    expect(names).toContain("email_sends_default");
    expect(await ensurePartitions(db, 1, 3)).toBe(0); // idempotent
  });

  it("routes rows to the partition of their month", async () => {
    await ensurePartitionsBetween(db, "email_sends", new Date("2025-01-01"), new Date("2025-03-01"));
    await ensurePartitionsBetween(db, "ai_gym_performance", new Date("2025-01-01"), new Date("2025-03-01"));
    expect(await partitionOf("email_sends", "2025-01-31 23:59:59.999")).toBe("email_sends_p2025_01");
    expect(await partitionOf("email_sends", "2025-02-01 00:00:00")).toBe("email_sends_p2025_02");
    expect(await partitionOf("ai_gym_performance", "2025-03-15 12:00:00")).toBe(
      "ai_gym_performance_p2025_03",
    );
    expect(await partitionOf("email_sends", "2019-06-01 00:00:00")).toBe("email_sends_default");
  });

  it("moves rows out of the default partition when their month is created", async () => {
    await partitionOf("ai_gym_performance", "2018-04-10 08:00:00");
    await partitionOf("ai_gym_performance", "2018-04-20 08:00:00");
    expect(
      await ensurePartitionsBetween(db, "ai_gym_performance", new Date("2018-04-01"), new Date("2018-04-01")),
    ).toBe(1);
    const r = await db.query<{ part: string; n: number }>(
      `SELECT tableoid::regclass::text AS part, count(*)::int AS n FROM ai_gym_performance
       WHERE created_at >= '2018-04-01' AND created_at < '2018-05-01' GROUP BY 1`,
    );
    expect(r.rows).toEqual([{ part: "ai_gym_performance_p2018_04", n: 2 }]);
  });

  it("drops whole months for retention", async () => {
    await ensurePartitionsBetween(db, "email_sends", new Date("2017-01-01"), new Date("2017-02-01"));
    await partitionOf("email_sends", "2017-01-05 00:00:00");
    const dropped = await db.query<{ n: number }>(
      "SELECT reachgraph_drop_partitions_before('email_sends', '2017-02-01') AS n",
    );
    expect(dropped.rows[0]?.n).toBe(1);
    expect((await db.query("SELECT to_regclass('email_sends_p2017_01') AS r")).rows[0]?.r).toBeNull();
    expect((await db.query("SELECT to_regclass('email_sends_p2017_02') AS r")).rows[0]?.r).not.toBeNull();
  });
});
