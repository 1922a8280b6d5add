// A fleet of `dwe worker` processes under faults: every signal sent and every exit is logged with
// its time and pid (the fault log the checks explain repeats with), and a worker that ends is
// replaced by a new process in its slot.
import type { DweProcess } from "../kill-resume.js";

export type Fault = "SIGKILL" | "SIGSTOP" | "SIGTERM";

export interface FleetEvent {
  at: number;
  pid: number;
  slot: number;
  what: "start" | Fault | "SIGCONT" | "exit";
  /** For faults: injected at a random moment, or as the worker's HTTP request arrived. */
  trigger?: "timer" | "arrival";
  /** For exits: the code or signal. */
  detail?: string;
}

interface Member {
  slot: number;
  worker: DweProcess;
  pid: number;
  state: "running" | "stopped" | "terminating" | "killed";
}

export class Fleet {
  readonly events: FleetEvent[] = [];
  readonly problems: string[] = [];
  /** Every worker pid this fleet started. */
  readonly pids = new Set<number>();
  /** Each worker's stderr, by pid (for reports). */
  readonly logs = new Map<number, string>();
  private readonly members: (Member | null)[];
  private closing = false;
  private readonly exits = new Map<number, Promise<void>>();

  constructor(
    size: number,
    private readonly spawnWorker: () => DweProcess,
  ) {
    this.members = Array.from({ length: size }, () => null);
  }

  start(): void {
    for (let slot = 0; slot < this.members.length; slot++) this.launch(slot);
  }

  private launch(slot: number): void {
    const worker = this.spawnWorker();
    const pid = worker.pid;
    if (pid === undefined) {
      this.problems.push(`worker slot ${slot}: could not start a dwe worker process`);
      return;
    }
    const m: Member = { slot, worker, pid, state: "running" };
    this.members[slot] = m;
    this.pids.add(pid);
    this.events.push({ at: Date.now(), pid, slot, what: "start" });
    this.exits.set(
      pid,
      worker.exited.then(({ code, signal }) => {
        this.events.push({ at: Date.now(), pid, slot, what: "exit", detail: signal ?? String(code) });
        const log = worker.stderr;
        this.logs.set(pid, log);
        // SIGTERM before the worker installed its handler (it was starting) ends it by the signal.
        const expected = m.state === "killed" || (m.state === "terminating" && (code === 0 || signal === "SIGTERM"));
        if (!expected)
          this.problems.push(`worker ${pid} (slot ${slot}) exited by itself (${signal ?? `code ${code}`}): ${log.trim().slice(-600)}`);
        if (this.members[slot] === m) this.members[slot] = null;
        // A dead worker is replaced, as a supervisor (systemd, Kubernetes) would.
        if (!this.closing) setTimeout(() => !this.closing && this.members[slot] === null && this.launch(slot), 200);
      }),
    );
  }

  /** The processes of the fleet now (running or stopped): the candidates for having sent a request. */
  current(): number[] {
    return this.members.flatMap((m) => (m ? [m.pid] : []));
  }

  /** A worker that is running (not stopped, not shutting down), chosen by `random`. */
  pickRunning(random: () => number): number | null {
    const running = this.members.filter((m): m is Member => m !== null && m.state === "running");
    if (running.length === 0) return null;
    return running[Math.floor(random() * running.length)]!.pid;
  }

  private member(pid: number): Member | null {
    return this.members.find((m) => m?.pid === pid) ?? null;
  }

  /** Sends a fault to a running worker; false when it is not (any more) one. For SIGSTOP, `contAfterMs` sends SIGCONT. */
  inject(pid: number, fault: Fault, trigger: "timer" | "arrival", contAfterMs = 0): boolean {
    const m = this.member(pid);
    if (!m || m.state !== "running") return false;
    m.state = fault === "SIGKILL" ? "killed" : fault === "SIGSTOP" ? "stopped" : "terminating";
    this.events.push({ at: Date.now(), pid, slot: m.slot, what: fault, trigger });
    m.worker.kill(fault);
    if (fault === "SIGSTOP") setTimeout(() => this.cont(m), contAfterMs);
    return true;
  }

  private cont(m: Member): void {
    if (m.state !== "stopped") return;
    m.state = "running";
    this.events.push({ at: Date.now(), pid: m.pid, slot: m.slot, what: "SIGCONT" });
    m.worker.kill("SIGCONT");
  }

  /** Wakes every stopped worker (the end of the fault window). */
  contAll(): void {
    for (const m of this.members) if (m) this.cont(m);
  }

  /** Stops replacing workers and ends them all: SIGTERM (graceful), SIGKILL after `graceMs`. */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    for (const m of this.members) {
      // One already told to stop is not signalled again: a second SIGTERM makes a worker exit at once (130).
      if (!m || m.state === "terminating" || m.state === "killed") continue;
      this.cont(m);
      m.state = "terminating";
      m.worker.kill("SIGTERM");
    }
    const all = Promise.all(this.exits.values());
    const timer = setTimeout(() => {
      for (const m of this.members) {
        if (!m) continue;
        this.problems.push(`worker ${m.pid} did not stop within ${graceMs} ms of SIGTERM; killed`);
        m.state = "killed";
        m.worker.kill("SIGKILL");
      }
    }, graceMs);
    await all;
    clearTimeout(timer);
  }
}
