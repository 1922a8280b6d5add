import type pg from "pg";
import { TYPES, backoff, pgLib } from "./pg-connection.js";
import type { WorkerEvents, WorkerSession } from "./types.js";

// A `dwe worker`'s liveness on PostgreSQL: one connection of its own holding a session-level
// advisory lock keyed by its row in `workers`. PostgreSQL releases the lock when that connection
// ends (the process was killed, its host vanished: TCP keepalives end a silent one), and a claim
// that finds the lock of a run's holder free takes the run at once (pg-claims.ts). The same
// connection LISTENs for wake-ups (new runs, signals), so an idle worker claims without waiting for
// its poll. See docs/worker.md, "Takeover after a crash".

/** The first key of every worker's advisory lock (the second is its `workers.id`, mod 2^31). */
export const WORKER_LOCK = 0x64776502;
/** NOTIFY channel: something became claimable (a new run, a signal). */
export const WAKE_CHANNEL = "dwe_runs";

/** SQL: the owners in `workers` whose session is gone (their advisory lock is not held). */
export const DEAD_WORKERS = `
  SELECT w.owner FROM workers w WHERE NOT EXISTS (
    SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND l.classid::bigint = ${WORKER_LOCK} AND l.objid::bigint = mod(w.id, 2147483648))`;

/**
 * SQL: a run row as the store reads it, with `holder_dead`: its lease holder is a registered worker
 * whose session is gone (dead, whatever its lease says; see RunRecord.leaseHolderDead).
 */
export const RUN_COLUMNS = `*, lease_owner IN (${DEAD_WORKERS}) AS holder_dead`;

/**
 * Server-side keepalives on the session's connection: a worker whose host vanished without closing
 * it (power loss, a partition) loses its lock in about 20 s, not after the kernel's 2 hours.
 */
const KEEPALIVE = "-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=2";

export interface SessionTarget {
  url: string;
  /** The store's connection options (search_path), for the session's own connection. */
  options: string;
}

export class PgWorkerSession implements WorkerSession {
  private client: pg.Client | null = null;
  private closing = false;

  private constructor(
    private readonly target: SessionTarget,
    private readonly owner: string,
    private readonly events: WorkerEvents,
  ) {}

  /** Registers the worker and holds its lock; resolves once it is held (claim only after that). */
  static async open(target: SessionTarget, owner: string, events: WorkerEvents): Promise<PgWorkerSession> {
    const s = new PgWorkerSession(target, owner, events);
    await s.connect();
    return s;
  }

  private async connect(): Promise<void> {
    const client = new (pgLib().Client)({
      connectionString: this.target.url,
      options: `${this.target.options} ${KEEPALIVE}`,
      types: TYPES,
      application_name: "dwe worker",
      keepAlive: true,
      connectionTimeoutMillis: 10_000,
    });
    client.on("error", () => undefined);
    await client.connect();
    try {
      // Rows of workers that are gone and hold nothing are dropped; this one's row is (re)made.
      await client.query(
        `DELETE FROM workers WHERE owner IN (${DEAD_WORKERS}) AND owner <> $1
           AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.status = 'running' AND r.lease_owner = workers.owner)`,
        [this.owner],
      );
      const id = (
        await client.query<{ id: number }>(
          "INSERT INTO workers (owner, started_at) VALUES ($1, $2) ON CONFLICT (owner) DO UPDATE SET started_at = EXCLUDED.started_at RETURNING id",
          [this.owner, Date.now()],
        )
      ).rows[0]!.id;
      // Between the insert and the lock another claim may see this worker as gone: it holds no runs yet.
      await client.query("SELECT pg_advisory_lock($1::int, $2::int)", [WORKER_LOCK, id % 2147483648]);
      await client.query(`LISTEN ${WAKE_CHANNEL}`);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    client.on("notification", () => this.events.onWake());
    client.once("end", () => {
      if (this.closing) return;
      this.client = null;
      this.events.onLost();
      void this.reconnect();
    });
    this.client = client;
  }

  private async reconnect(): Promise<void> {
    for (let attempt = 1; !this.closing; attempt++) {
      await backoff(Math.min(attempt, 5));
      try {
        await this.connect();
        this.events.onRestored();
        return;
      } catch {
        // The database is still unreachable: try again.
      }
    }
  }

  /** Graceful stop (its runs already given back): the row goes, the lock with the connection. */
  async close(): Promise<void> {
    this.closing = true;
    const c = this.client;
    this.client = null;
    if (!c) return;
    await c.query("DELETE FROM workers WHERE owner = $1", [this.owner]).catch(() => undefined);
    await c.end().catch(() => undefined);
  }
}
