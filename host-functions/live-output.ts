import type { LiveOutput } from "../engine/kernel/host-function.js";

/** A line longer than this is shown in pieces rather than held back until its newline. */
const MAX_LINE = 64 * 1024;
const NEWLINE = 0x0a;

/**
 * One output stream of a running command, shown as it arrives: whole lines, each with `prefix`
 * (`[job/step] ` in a pipeline, so the lines of jobs running at once can be told apart, as in a CI
 * log). What is left without a newline is shown by `end`, with one added.
 */
export class LiveLines {
  private held: Buffer = Buffer.alloc(0);
  private readonly prefix: Buffer;

  constructor(
    private readonly show: LiveOutput,
    private readonly stream: "stdout" | "stderr",
    prefix: string,
  ) {
    this.prefix = Buffer.from(prefix);
  }

  add(chunk: Buffer): void {
    let data = this.held.length > 0 ? Buffer.concat([this.held, chunk]) : chunk;
    const last = data.lastIndexOf(NEWLINE);
    if (last >= 0) {
      this.emit(data.subarray(0, last + 1));
      data = data.subarray(last + 1);
    }
    if (data.length > MAX_LINE) {
      this.emit(Buffer.concat([data, Buffer.from("\n")]));
      data = Buffer.alloc(0);
    }
    this.held = Buffer.from(data);
  }

  end(): void {
    if (this.held.length > 0) this.emit(Buffer.concat([this.held, Buffer.from("\n")]));
    this.held = Buffer.alloc(0);
  }

  /** Shows complete lines (`lines` ends with a newline), each prefixed. */
  private emit(lines: Buffer): void {
    if (this.prefix.length === 0) {
      this.show(this.stream, new Uint8Array(lines));
      return;
    }
    const parts: Buffer[] = [];
    let start = 0;
    while (start < lines.length) {
      const nl = lines.indexOf(NEWLINE, start);
      const end = nl < 0 ? lines.length : nl + 1;
      parts.push(this.prefix, lines.subarray(start, end));
      start = end;
    }
    this.show(this.stream, new Uint8Array(Buffer.concat(parts)));
  }
}
