import { opName } from "../kernel/ops.js";

const RECORDED = 0;
const REPLAYED = 1;
const LIVE = 2;
const OP = 3;

/**
 * How far a run's attempt has got, for a status line (`dwe run` on a terminal): its journal's
 * length when the attempt began, the entries answered from it so far, the calls made live, and the
 * op of the latest call. Its Dispatcher stores into it at every call (no allocation, no timer);
 * whoever shows it reads it on its own timer. In shared memory, so an attempt thread's is read the same.
 */
export class RunProgress {
  static readonly BYTES = 16;
  readonly buffer: SharedArrayBuffer;
  private readonly words: Int32Array;

  /** A new one, or a view of `buffer` (another thread's). */
  constructor(buffer?: SharedArrayBuffer) {
    this.buffer = buffer ?? new SharedArrayBuffer(RunProgress.BYTES);
    this.words = new Int32Array(this.buffer, 0, 4);
    if (!buffer) this.begin(0);
  }

  /** An attempt begins, with this many recorded entries to replay. */
  begin(recorded: number): void {
    this.words[RECORDED] = recorded;
    this.words[REPLAYED] = 0;
    this.words[LIVE] = 0;
    this.words[OP] = -1;
  }

  /** A call answered from the journal: the `seq`th entry, of op `code`. */
  replayed(seq: number, code: number): void {
    this.words[REPLAYED] = seq;
    this.words[OP] = code;
  }

  /** A call performed live, of op `code`. */
  live(code: number): void {
    this.words[LIVE]!++;
    this.words[OP] = code;
  }

  /** The figures as they are now. */
  read(): { recorded: number; replayed: number; live: number; op: string | null } {
    const op = this.words[OP]!;
    return { recorded: this.words[RECORDED]!, replayed: this.words[REPLAYED]!, live: this.words[LIVE]!, op: op < 0 ? null : opName(op) };
  }
}
