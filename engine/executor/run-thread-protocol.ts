import type { LogRecord } from "../journal/entry.js";
import type { Durability, Lease, RunStatus } from "../store/types.js";
import type { AttemptOptions } from "./run-executor.js";

/** What the thread of a `dwe run --timeout` needs: its own connection, the attempt's options, and the lease taken for it. */
export interface RunThreadData {
  db: string;
  durability: Durability;
  attempt: AttemptOptions;
  lease: Lease;
  previous: RunStatus;
  wakeAt: number | null;
  /** Forward committed log lines, and commands' live output, to the main thread (which prints them). */
  logs: boolean;
}

export type ToRunThread =
  /** Stop at the next host call and leave the run resumable (Ctrl-C, SIGTERM). */
  | { type: "shutdown"; signal: string }
  /** `dwe cancel` was asked: stop at the next host call, the run ends cancelled. */
  | { type: "cancel" }
  /** The lease was lost: stop now, every write would be refused anyway. */
  | { type: "lease_lost" };

export type FromRunThread =
  | { type: "logs"; logs: LogRecord[] }
  | { type: "live"; stream: "stdout" | "stderr"; data: Uint8Array }
  | { type: "done" }
  | { type: "error"; error: { code: string; message: string }; exitCode: number };
