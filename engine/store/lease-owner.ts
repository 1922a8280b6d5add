import { existsSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { RunStateError } from "../kernel/errors.js";
import { RUN_TRANSITIONS, type RunRecord } from "./types.js";

/** Identifies one executing process: `host:pid:nonce`. */
export function newOwnerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
}

/**
 * True when `owner` names a process on this host that no longer exists, so its lease can be taken
 * at once instead of waiting for it to expire (the common case after `kill -9` of `dwe run`).
 */
export function ownerIsDeadLocally(owner: string): boolean {
  const [host, pidText] = owner.split(":");
  if (host !== hostname() || pidText === undefined) return false;
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return false;
  return !processAlive(pid);
}

const HAVE_PROC = existsSync("/proc/self/stat");

/**
 * Whether process `pid` (on this host) is alive. A zombie is dead: where PID 1 does not reap orphans
 * (containers without an init) a killed process stays a zombie, and `kill(pid, 0)` succeeds for it,
 * so /proc/PID/stat's state is read first (Linux); elsewhere `kill(pid, 0)` decides.
 */
export function processAlive(pid: number): boolean {
  if (HAVE_PROC) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    } catch {
      return false;
    }
    // "pid (comm) S ...": comm may hold spaces and parentheses, so the state follows the last ')'.
    const state = stat.charAt(stat.lastIndexOf(")") + 2);
    return state !== "Z" && state !== "X";
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

/**
 * Who holds a run's lease right now: `owner (lease until …)`, or null when nobody does (no lease,
 * an expired one, one held by a dead process on this host, or by a worker the store knows is dead:
 * on PostgreSQL, one whose database session ended, on any host).
 */
export function liveLeaseHolder(run: Pick<RunRecord, "leaseOwner" | "leaseExpiresAt" | "leaseHolderDead">, now: number): string | null {
  const { leaseOwner, leaseExpiresAt } = run;
  if (leaseOwner === null || leaseExpiresAt === null || leaseExpiresAt <= now) return null;
  if (run.leaseHolderDead === true || ownerIsDeadLocally(leaseOwner)) return null;
  return `${leaseOwner} (lease until ${new Date(leaseExpiresAt).toISOString()})`;
}

/** The rule both stores apply before giving a run a new lease: not terminal, and not held by a live owner unless stolen. */
export function checkLeaseTakeable(run: RunRecord, steal: boolean, now: number): void {
  if (RUN_TRANSITIONS[run.status].length === 0) {
    throw new RunStateError(`run ${run.id} is ${run.status}; a ${run.status} run cannot be executed again`);
  }
  const holder = steal ? null : liveLeaseHolder(run, now);
  if (holder !== null)
    throw new RunStateError(`run ${run.id} is being executed by ${holder}; wait for it, or stop that process and try again`);
}
