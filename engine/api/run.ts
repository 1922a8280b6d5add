import { setTimeout as delay } from "node:timers/promises";
import { RunFailed, RunNotFound, UsageError } from "../kernel/errors.js";
import { checkSignalName } from "../../host-functions/signal.js";
import { encodeInput } from "./prepare-run.js";
import { isTerminal, type RunRecord, type Store } from "../store/types.js";
import { decodeOutput, runInfo } from "./run-info.js";
import { readLogs } from "./logs.js";
import type { LogLine, LogsOptions, ResultOptions, RunInfo } from "./types.js";

/** What a Run handle needs of its Dwe: the store, and the attempt executing here, if any. */
export interface RunHost {
  store(): Store;
  executing(runId: string): Promise<unknown> | undefined;
}

/** A handle on one run (`Dwe.start`, `Dwe.run`): its state, result, signals, logs. */
export class Run {
  /** @internal Use `Dwe.start` or `Dwe.run`. */
  constructor(
    private readonly host: RunHost,
    readonly id: string,
  ) {}

  /** The run as stored now. RunNotFound if there is no such run. */
  async info(): Promise<RunInfo> {
    return runInfo(await this.record());
  }

  /**
   * Waits until the run has ended, wherever it executes (here, or a worker on any machine sharing
   * the database), and returns its output: the JSON value when it is JSON text, else the text (or
   * the bytes when not UTF-8), null when there is none. Throws RunFailed when the run failed or was
   * cancelled. A suspended run is waited for: it ends once a worker continues it.
   */
  async result<T = unknown>(o: ResultOptions = {}): Promise<T> {
    const run = await this.ended(o);
    if (run.status === "completed") return decodeOutput(run.output) as T;
    throw new RunFailed(
      run.id,
      run.status === "cancelled" ? "cancelled" : "failed",
      run.error ?? { code: "error", message: "unknown error" },
    );
  }

  /** Waits until the run has ended (any way) and returns it as stored. */
  async ended(o: ResultOptions = {}): Promise<RunInfo> {
    // An attempt executing in this process ends first; then the store says where the run is.
    await this.host.executing(this.id)?.catch(() => undefined);
    for (;;) {
      const run = await this.record();
      if (isTerminal(run.status)) return runInfo(run);
      o.signal?.throwIfAborted();
      await delay(o.pollMs ?? 100, undefined, o.signal ? { signal: o.signal } : {});
    }
  }

  /** Sends a signal to the run (`dwe signal`); see `Dwe.signal`. */
  signal(name: string, data?: unknown): Promise<number> {
    return sendSignal(this.host.store(), this.id, name, data);
  }

  /** The run's log lines (and its child runs'); see `Dwe.logs`. */
  logs(o: LogsOptions = {}): AsyncGenerator<LogLine> {
    return readLogs(this.host.store(), this.id, o);
  }

  private async record(): Promise<RunRecord> {
    const run = await this.host.store().getRun(this.id);
    if (!run) throw new RunNotFound(this.id);
    return run;
  }
}

/** Stores a signal for a run (kept until a wait takes it) and wakes the run; returns its id. */
export async function sendSignal(store: Store, runId: string, name: string, data: unknown): Promise<number> {
  if (!checkSignalName(name)) throw new UsageError(`bad signal name '${name}': use 1-128 letters, digits, '.', '_', ':' or '-'`);
  return store.sendSignal(runId, name, encodeInput(data));
}
