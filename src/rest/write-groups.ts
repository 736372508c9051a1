/**
 * Group commit for single-event writes. Concurrent requests to the same route queue under one key; a batch of them
 * shares one transaction, one multi-row statement per table and one COMMIT (one WAL flush), instead of a
 * transaction each. Nothing lingers: a request that finds a free slot starts at once, alone if it is alone, and
 * requests arriving while `maxInFlight` batches of their key are running wait for the next one. So a quiet server
 * answers as fast as before, and a busy one batches more the busier it gets (the batch is what arrived during the
 * last one), up to `maxRequests` per batch.
 *
 * What a batch means (which members may share, and what a failed batch does) is up to `run`: the REST wrapper
 * (mount.ts) falls back to one transaction per member when a batch fails, so every request gets exactly the answer
 * it would have had alone.
 */
export type Settled<R> = { ok: true; value: R } | { ok: false; error: unknown };

export type WriteGroupOptions = {
  /** Most requests in one batch; 1 turns grouping off (every request runs alone). */
  maxRequests: number;
  /** Batches of one key running at a time (each holds a connection). */
  maxInFlight: number;
};

export const DEFAULT_WRITE_GROUPS: WriteGroupOptions = { maxRequests: 64, maxInFlight: 2 };

type Waiting<M, R> = { member: M; resolve: (value: R) => void; reject: (error: unknown) => void };
type Queue<M, R> = {
  waiting: Waiting<M, R>[];
  running: number;
  run: (members: M[]) => Promise<Settled<R>[]>;
};

export class WriteGroups {
  // biome-ignore lint/suspicious/noExplicitAny: one map holds the queues of every route, each with its own types
  private readonly queues = new Map<string, Queue<any, any>>();

  constructor(readonly options: WriteGroupOptions = DEFAULT_WRITE_GROUPS) {
    if (options.maxRequests < 1 || options.maxInFlight < 1) throw new Error("write groups need sizes ≥ 1");
  }

  get enabled(): boolean {
    return this.options.maxRequests > 1;
  }

  /**
   * Runs `member` in a batch with the other members waiting under `key`. `run` gets 1…maxRequests members and
   * settles each one, in order; all members of a key must be run by the same `run`.
   */
  submit<M, R>(key: string, member: M, run: (members: M[]) => Promise<Settled<R>[]>): Promise<R> {
    let queue = this.queues.get(key) as Queue<M, R> | undefined;
    if (!queue) {
      queue = { waiting: [], running: 0, run };
      this.queues.set(key, queue);
    }
    const q = queue;
    const settled = new Promise<R>((resolve, reject) => q.waiting.push({ member, resolve, reject }));
    this.drain(key, q);
    return settled;
  }

  /** Requests waiting or running, for tests and metrics. */
  get pending(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.waiting.length + q.running;
    return n;
  }

  private drain<M, R>(key: string, q: Queue<M, R>): void {
    while (q.running < this.options.maxInFlight && q.waiting.length > 0) {
      const batch = q.waiting.splice(0, this.options.maxRequests);
      q.running++;
      void this.runBatch(q, batch).finally(() => {
        q.running--;
        if (q.running === 0 && q.waiting.length === 0) this.queues.delete(key);
        else this.drain(key, q);
      });
    }
  }

  private async runBatch<M, R>(q: Queue<M, R>, batch: Waiting<M, R>[]): Promise<void> {
    let results: Settled<R>[];
    try {
      results = await q.run(batch.map((w) => w.member));
      if (results.length !== batch.length)
        throw new Error("a write group settled the wrong number of members");
    } catch (error) {
      results = batch.map(() => ({ ok: false, error }));
    }
    for (const [i, w] of batch.entries()) {
      const r = results[i] as Settled<R>;
      if (r.ok) w.resolve(r.value);
      else w.reject(r.error);
    }
  }
}

export async function settle<R>(work: Promise<R>): Promise<Settled<R>> {
  try {
    return { ok: true, value: await work };
  } catch (error) {
    return { ok: false, error };
  }
}
