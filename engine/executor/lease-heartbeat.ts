// The one lease heartbeat: `dwe run` and `dwe resume` on this thread, `dwe run --timeout` for its
// thread, and a worker's supervisor for all its runs renew their leases through it.
import type { Lease, LeaseCheck, Store } from "../store/types.js";

/** Anything that holds a lease (a worker's assigned run, or just the lease). */
export interface HoldsLease {
  lease: Lease;
}

export interface HeartbeatOptions<T extends HoldsLease> {
  store: Store;
  /** The leases' TTL: each beat extends them by it, a beat comes every third of it. */
  ttlMs: number;
  /** The leases to renew, read afresh at each beat. */
  held: () => readonly T[];
  /**
   * After each beat, what the store said of each lease, in order: `held` false when another process
   * has taken the run (the lease is lost), `cancelRequested` when `dwe cancel` asked it to stop.
   * A held lease's `expiresAt` has moved already.
   */
  onChecked: (checked: readonly (readonly [T, LeaseCheck])[]) => void;
  /** A beat the store failed (the next beat tries again). */
  onError?: (err: unknown) => void;
}

/** Renews every lease `held` returns in one store call, every third of the TTL, until stopped. */
export class LeaseHeartbeat<T extends HoldsLease> {
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly o: HeartbeatOptions<T>) {}

  start(): this {
    if (this.timer === null) {
      this.timer = setInterval(() => void this.beat(), Math.max(50, Math.floor(this.o.ttlMs / 3)));
      this.timer.unref();
    }
    return this;
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  async beat(): Promise<void> {
    const list = [...this.o.held()];
    if (list.length === 0) return;
    let checks: LeaseCheck[];
    try {
      checks = await this.o.store.renewLeases(
        list.map((h) => h.lease),
        this.o.ttlMs,
      );
    } catch (err) {
      this.o.onError?.(err);
      return;
    }
    const checked: (readonly [T, LeaseCheck])[] = [];
    list.forEach((h, i) => {
      const c = checks[i];
      if (c) checked.push([h, c]);
    });
    this.o.onChecked(checked);
  }
}

/**
 * The heartbeat of one attempt's lease, started: `lost` when another process took the run (its
 * writes are fenced anyway), `cancel` when `dwe cancel` asked it to stop. Store errors are retried.
 */
export function heartbeatOf(
  store: Store,
  lease: Lease,
  ttlMs: number,
  on: { lost: () => void; cancel: () => void },
): LeaseHeartbeat<HoldsLease> {
  return new LeaseHeartbeat<HoldsLease>({
    store,
    ttlMs,
    held: () => [{ lease }],
    onChecked: ([only]) => {
      const c = only?.[1];
      if (c && !c.held) on.lost();
      else if (c?.cancelRequested) on.cancel();
    },
  }).start();
}
