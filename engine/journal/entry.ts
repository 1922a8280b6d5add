/** One row of a run's journal. */
export interface JournalEntry {
  /** Position in the run's journal, from 1, without gaps. */
  seq: number;
  /** Operation code (see ops.ts). */
  op: number;
  /** Digest of the request bytes, checked on replay. */
  digest: number;
  state: EntryState;
  /** For done entries, the response bytes handed to the guest; for intents, operation-specific data. */
  payload: Uint8Array;
  /**
   * When the call was made (an effect's or a wait's: when its intent was written) and when its
   * outcome was journaled, in ms since the epoch. Informative only: not covered by the checksum,
   * never replayed. A completion without `startedAt` keeps the start its intent was stored with.
   */
  startedAt?: number;
  endedAt?: number;
  /**
   * The request as the guest sent it (its digest is `digest`), for `dwe journal`; absent when it is
   * larger than KEPT_REQUEST_BYTES. A completion without it keeps its intent's.
   */
  request?: Uint8Array;
}

/** Requests up to this size are stored with their entry (`dwe journal` shows them); larger ones are not kept. */
export const KEPT_REQUEST_BYTES = 64 * 1024;

/**
 * A journal entry as `Store.readJournalRecords` reads it back: with its times, the attempt that
 * wrote it, and its request (null: not stored, as in entries written before dwe stored them).
 */
export interface JournalRecord {
  seq: number;
  op: number;
  digest: number;
  state: EntryState;
  payload: Uint8Array;
  startedAt: number | null;
  endedAt: number | null;
  attempt: number | null;
  request: Uint8Array | null;
}

export const EntryState = {
  /** An effect was about to start; its outcome is not known. */
  Intent: 0,
  /** Done: the payload is the success response. */
  Ok: 1,
  /** Done: the payload is an error response `{code, message}`. */
  Err: 2,
} as const;
export type EntryState = (typeof EntryState)[keyof typeof EntryState];

/** A guest log line, stored beside the journal entry that produced it. */
export interface LogRecord {
  seq: number;
  level: string;
  message: string;
  at: number;
  /** `stdout`/`stderr` for WASI output, `log` for the dwe log operation. */
  stream: string;
  /** WASI output: the bytes as the program wrote them (printed live; not stored: `message` is). */
  data?: Uint8Array;
}
