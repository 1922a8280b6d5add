import { readFileSync } from "node:fs";

/**
 * Whether process `pid` is still running. A zombie counts as dead: it has ended and only waits to
 * be reaped (PID 1 of a container may never reap orphans).
 */
export function alive(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return false;
  }
  const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  return state !== "Z" && state !== "X";
}

/** The pids written one per line to `file` (by `echo $! >> file` in a test command). */
export function pidsIn(file: string): number[] {
  try {
    return readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map(Number);
  } catch {
    return [];
  }
}
