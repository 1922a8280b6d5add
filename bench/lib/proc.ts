import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { DWE_BIN } from "./guests.js";
import { nowMs } from "./stats.js";

export interface DweProcess {
  child: ChildProcess;
  /** nowMs() just before the spawn. */
  startedAt: number;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

/** Spawns `node bin/dwe.js --db DB ARGS…`; stdout is discarded, stderr kept for error messages. */
export function spawnDwe(db: string, args: string[], env: Record<string, string> = {}, cwd?: string): DweProcess {
  return spawnNode([DWE_BIN, "--db", db, ...args], env, cwd);
}

export function spawnNode(args: string[], env: Record<string, string> = {}, cwd?: string): DweProcess {
  const startedAt = nowMs();
  const child = spawn(process.execPath, args, {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, ...env },
    ...(cwd && { cwd }),
  });
  let err = "";
  child.stderr.on("data", (c: Buffer) => {
    if (err.length < 64 * 1024) err += c.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal, at: nowMs() })),
  );
  return { child, startedAt, stderr: () => err, exited };
}

/** Runs a process to completion; returns its wall time in ms (throws on a non-zero exit). */
export async function timedNode(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<number> {
  const p = spawnNode(args, env, cwd);
  const r = await p.exited;
  if (r.code !== 0) throw new Error(`${args.slice(0, 4).join(" ")} exited ${r.code ?? r.signal}: ${p.stderr().slice(0, 500)}`);
  return r.at - p.startedAt;
}

/** Resident memory of a process in MB: current (VmRSS) and peak (VmHWM), from /proc. */
export function rssMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
}
