import { RunProgress } from "../../executor/run-progress.js";

const SPINNER = ["-", "\\", "|", "/"];
/** Short runs print nothing extra. */
const SHOW_AFTER_MS = 1000;
const REDRAW_EVERY_MS = 250;
const ERASE = "\r\x1b[2K";

/** Where `dwe run` and `dwe resume` print: guest output and dwe's own lines. */
export interface Terminal {
  write(stream: "stdout" | "stderr", data: Uint8Array | string): void;
  /** Stops (and erases) the status line, if any. */
  close(): void;
}

const plain: Terminal = {
  write: (stream, data) => void (stream === "stdout" ? process.stdout : process.stderr).write(data),
  close: () => undefined,
};

/**
 * The terminal of a run executed here: with a status line when stderr is a terminal (and the
 * caller prints, not `--json` or `--quiet`), else plain writes.
 */
export function terminalFor(runId: string, show: boolean): { terminal: Terminal; progress?: RunProgress } {
  if (!show || !process.stderr.isTTY) return { terminal: plain };
  const line = new StatusLine(runId, new RunProgress());
  return { terminal: line, progress: line.progress };
}

/**
 * One line at the bottom of the terminal on stderr while a run executes, from its first second
 * on: `- run ID: replaying 1234/5000, live 3, http.request, 12.4s`, redrawn 4 times a second from
 * the run's RunProgress. Every other write goes through `write`, which erases the line first (it
 * comes back at the next redraw, once the output ends a line), so output is never mangled.
 */
class StatusLine implements Terminal {
  private shown = false;
  private atLineStart = true;
  private frame = 0;
  private readonly started = Date.now();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly runId: string,
    readonly progress: RunProgress,
  ) {
    this.timer = setInterval(() => this.draw(), REDRAW_EVERY_MS);
    this.timer.unref();
  }

  write(stream: "stdout" | "stderr", data: Uint8Array | string): void {
    const out = stream === "stdout" ? process.stdout : process.stderr;
    if (data.length === 0) return;
    this.erase();
    out.write(data);
    // Output to the same terminal that does not end a line: no redraw until it does.
    if (out === process.stderr || out.isTTY) {
      const last = typeof data === "string" ? data.charCodeAt(data.length - 1) : data[data.length - 1];
      this.atLineStart = last === 0x0a;
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.erase();
  }

  private erase(): void {
    if (!this.shown) return;
    process.stderr.write(ERASE);
    this.shown = false;
  }

  private draw(): void {
    const elapsed = Date.now() - this.started;
    if (elapsed < SHOW_AFTER_MS || !this.atLineStart) return;
    const width = Math.max((process.stderr.columns || 80) - 1, 10);
    process.stderr.write(ERASE + this.text(elapsed).slice(0, width));
    this.shown = true;
  }

  private text(elapsed: number): string {
    const p = this.progress.read();
    const spin = SPINNER[this.frame++ % SPINNER.length]!;
    // Nothing yet: `dwe resume` waits for the run's lease or its time.
    if (p.recorded === 0 && p.live === 0) return `${spin} run ${this.runId}: waiting, ${(elapsed / 1000).toFixed(1)}s`;
    const parts = [
      ...(p.replayed < p.recorded && p.live === 0
        ? [`replaying ${p.replayed}/${p.recorded}`]
        : p.recorded > 0
          ? [`replayed ${p.recorded}`]
          : []),
      `live ${p.live}`,
      ...(p.op !== null ? [p.op] : []),
      `${(elapsed / 1000).toFixed(1)}s`,
    ];
    return `${spin} run ${this.runId}: ${parts.join(", ")}`;
  }
}
