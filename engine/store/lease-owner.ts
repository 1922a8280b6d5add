import { hostname } from "node:os";
import { randomBytes } from "node:crypto";

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
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}
