// What `dwe show` and `GET /api/runs/ID` tell of a run besides its row: what a suspended run waits
// for (read from the intent its journal ends with) and whether a running run's lease holder lives.
import { PAYLOAD_LIMITS, decodeMsgpack } from "../kernel/msgpack-decoder.js";
import { opName } from "../kernel/ops.js";
import { EntryState, type JournalRecord } from "../journal/entry.js";
import { ownerIsDeadLocally } from "../store/lease-owner.js";
import { CorruptJournal } from "../kernel/errors.js";
import type { RunRecord, Store } from "../store/types.js";
import type { OwnerInfo, WaitInfo } from "./types.js";

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function decodedMap(bytes: Uint8Array | null): Record<string, unknown> {
  if (bytes === null || bytes.length === 0) return {};
  try {
    const v = decodeMsgpack(bytes, PAYLOAD_LIMITS);
    return isMap(v) ? v : {};
  } catch {
    return {}; // an undecodable request or intent: what it waited for is not known, the rest still is
  }
}

/** An epoch-ms deadline as journaled (a bigint in an intent), or null. */
function time(v: unknown): number | null {
  const n = typeof v === "bigint" ? Number(v) : v;
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0 ? n : null;
}

/**
 * What a suspended run waits for: its journal ends with the intent of the wait it suspended in
 * (dispatcher.ts commits a wait's or timer's deadline as an intent before suspending): a signal
 * (`signal.wait`, by name), a child run (`child.join`, by id) or a time (`sleep`,
 * `wasi.poll_oneoff`). Null when the run is not suspended or its journal does not end so.
 */
export function waitingFor(run: RunRecord, last: JournalRecord | undefined): WaitInfo | null {
  if (run.status !== "suspended" || last === undefined || last.state !== EntryState.Intent) return null;
  const intent = decodedMap(last.payload);
  const until = time(intent.until) ?? run.wakeAt;
  const op = opName(last.op);
  const request = decodedMap(last.request);
  if (op === "signal.wait") return { kind: "signal", seq: last.seq, signal: typeof request.name === "string" ? request.name : null, until };
  if (op === "child.join") {
    const ids = Array.isArray(request.ids) ? request.ids : [request.id];
    return { kind: "child", seq: last.seq, runs: ids.filter((id): id is string => typeof id === "string"), until };
  }
  return { kind: "time", seq: last.seq, op, until };
}

/** `waitingFor` of a run with `entries` journal entries, reading only its last one (seqs run 1 … n). */
export async function readWaitingFor(store: Store, run: RunRecord, entries: number): Promise<WaitInfo | null> {
  if (run.status !== "suspended" || entries === 0) return null;
  try {
    return waitingFor(run, (await store.readJournalRecords(run.rid, entries)).at(-1));
  } catch (err) {
    if (err instanceof CorruptJournal) return null; // `dwe show` still shows the run; resuming it reports the damage
    throw err;
  }
}

/**
 * Who holds a running run's lease: `dead` when the store knows it (PostgreSQL: its worker session
 * ended) or the process is gone from this host (a zombie counts as gone: lease-owner.ts);
 * `expired` when its lease ran out; else `live` (on another host: as far as its lease says).
 */
export function ownerInfo(run: RunRecord, now: number): OwnerInfo | null {
  if (run.status !== "running" || run.leaseOwner === null) return null;
  const state =
    run.leaseHolderDead === true || ownerIsDeadLocally(run.leaseOwner)
      ? "dead"
      : run.leaseExpiresAt === null || run.leaseExpiresAt <= now
        ? "expired"
        : "live";
  return { id: run.leaseOwner, leaseExpiresAt: run.leaseExpiresAt, state };
}
