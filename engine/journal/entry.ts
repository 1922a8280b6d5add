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
