import { randomUUID } from "node:crypto";
import type pg from "pg";
import { EVENT_VERSION, type EventEnvelope, type EventPayloads, type EventType } from "../events/catalog.js";
import type { EventValidator } from "../events/schemas.js";
import type { Principal } from "./principal.js";

export type AuditEntry = {
  action: string;
  resourceType: string;
  resourceId: string | null;
  details?: Record<string, unknown>;
};

/**
 * One request's write: the open transaction, the request's clock, and the audit rows and events it produces.
 * Domain code records audits and events here; `flush` writes them in the same transaction as the change, so a
 * change, its audit trail (§5) and its outbox events (§4) commit or roll back together.
 */
export class UnitOfWork {
  readonly audits: AuditEntry[] = [];
  readonly events: EventEnvelope[] = [];
  private nothingWritten = false;

  constructor(
    readonly tx: pg.ClientBase,
    readonly now: Date,
    readonly principal: Principal,
    readonly requestId: string,
    readonly correlationId: string,
    private readonly validator: EventValidator,
    /** The primary pool, for work that needs transactions of its own (refreshing the materialized views). */
    readonly primary: pg.Pool,
  ) {}

  audit(entry: AuditEntry): void {
    this.audits.push(entry);
  }

  /**
   * Says that this request changed nothing (e.g. a claim on an empty queue), so it needs no audit row. Every
   * other write must record at least one audit entry: the route wrapper refuses to commit otherwise. Polling an
   * empty queue every second would otherwise fill the audit log with rows that say nothing happened.
   */
  wroteNothing(): void {
    this.nothingWritten = true;
  }

  /** True when the request audited its writes, or declared that it wrote nothing. */
  get accountedFor(): boolean {
    return this.audits.length > 0 || this.nothingWritten;
  }

  /**
   * Validates the event against events/<type>.v1.schema.json now, so a bad event fails the request before COMMIT.
   * The event carries this request's correlation id unless the work it reports began under another one (a worker
   * completing a demo reports under the id of the request that queued it).
   */
  emit<T extends EventType>(
    type: T,
    payload: EventPayloads[T],
    options: { correlationId?: string | null } = {},
  ): void {
    const envelope: EventEnvelope<T> = {
      id: randomUUID(),
      type,
      version: EVENT_VERSION,
      occurred_at: this.now.toISOString(),
      correlation_id: options.correlationId ?? this.correlationId,
      payload,
    };
    this.validator.assertValid(envelope);
    this.events.push(envelope);
  }

  /**
   * Writes all audit rows and all events in one statement (one round trip), however many a batch produced.
   * The outbox keeps the order in which events were emitted.
   */
  flush(): Promise<void> {
    return flushUnits(this.tx, [this]);
  }
}

/**
 * Writes the audit rows and events of several units of work sharing one transaction (group commit) in one
 * statement; each audit row keeps its own request's time, principal and request id, and the outbox keeps the units'
 * order, then each unit's emission order.
 */
export async function flushUnits(tx: pg.ClientBase, units: readonly UnitOfWork[]): Promise<void> {
  const audits = units.flatMap((u) => u.audits.map((a) => ({ u, a })));
  const events = units.flatMap((u) => u.events);
  if (audits.length === 0 && events.length === 0) return;
  await tx.query({
    // Named: prepared once per connection, its plan kept (every write runs it).
    name: "flush-audit-outbox",
    text: `WITH audit AS (
       INSERT INTO audit_log (occurred_at, principal_type, principal_id, action, resource_type, resource_id,
                              request_id, details)
       SELECT a.occurred_at, a.principal_type, a.principal_id, a.action, a.resource_type, a.resource_id,
              a.request_id, a.details
         FROM unnest($1::timestamp[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                     $8::jsonb[])
              AS a(occurred_at, principal_type, principal_id, request_id, action, resource_type, resource_id, details)
     )
     INSERT INTO event_outbox (id, type, version, occurred_at, correlation_id, payload)
     SELECT e.id, e.type, e.version, e.occurred_at, e.correlation_id, e.payload
       FROM unnest($9::uuid[], $10::text[], $11::int[], $12::timestamp[], $13::text[], $14::jsonb[])
            WITH ORDINALITY AS e(id, type, version, occurred_at, correlation_id, payload, n)
      ORDER BY e.n`,
    values: [
      audits.map(({ u }) => u.now.toISOString()),
      audits.map(({ u }) => u.principal.type),
      audits.map(({ u }) => u.principal.id),
      audits.map(({ u }) => u.requestId),
      audits.map(({ a }) => a.action),
      audits.map(({ a }) => a.resourceType),
      audits.map(({ a }) => a.resourceId),
      audits.map(({ a }) => (a.details ? JSON.stringify(a.details) : null)),
      events.map((e) => e.id),
      events.map((e) => e.type),
      events.map((e) => e.version),
      events.map((e) => e.occurred_at),
      events.map((e) => e.correlation_id),
      events.map((e) => JSON.stringify(e.payload)),
    ],
  });
}

/**
 * A transaction of work reachgraph does by itself (a scheduled job, the CLI) under a system principal: the work's
 * audit rows and events commit with it, and work that writes without an audit entry (or `wroteNothing()`) is
 * rolled back, as the REST wrapper does for requests.
 */
export async function inSystemTransaction<T>(
  primary: pg.Pool,
  context: { principal: Principal; now: Date; runId: string; events: EventValidator },
  work: (uow: UnitOfWork, tx: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await primary.connect();
  try {
    await client.query("BEGIN");
    const uow = new UnitOfWork(
      client,
      context.now,
      context.principal,
      context.runId,
      context.runId,
      context.events,
      primary,
    );
    const result = await work(uow, client);
    if (!uow.accountedFor) throw new Error(`${context.principal.id} wrote without an audit entry`);
    await uow.flush();
    await client.query("COMMIT");
    return result;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
