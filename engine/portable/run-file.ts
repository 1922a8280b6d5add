// The portable run file of `dwe export` / `dwe import` (docs/distributed.md):
//
//   MessagePack map { format: "dwe-run", version: 2, sha256: <hex of body>, body: <bin> }
//   body = MessagePack map { dwe, exportedAt, run, module, journal, logs, signals }
//   journal entries = { seq, op, digest, state, payload, sum } (sum: the entry checksum, as stored)
//
// The body is checked as bytes (sha256) before it is decoded; a truncated file fails to decode;
// a higher version is refused before anything else of it is read. Every journal entry's checksum
// is checked as the file states it (never recomputed), and the run's config field by field. The
// file is still untrusted (anyone can write one): `dwe import` holds its grants back.
// Both layers are decoded by the bounded decoder (engine/kernel/msgpack-decoder.ts): a hand-made
// file cannot make import spend more than a small multiple of its size.
import { createHash } from "node:crypto";
import { Packr } from "msgpackr";
import { InvalidRunFile } from "../kernel/errors.js";
import { EntryState, type JournalEntry, type LogRecord } from "../journal/entry.js";
import { entryChecksum } from "../journal/hash.js";
import { opName } from "../kernel/ops.js";
import { runConfigProblem } from "../store/run-config.js";
import { decodeMsgpack, FILE_LIMITS } from "../kernel/msgpack-decoder.js";
import { RUN_STATUSES, type RunExport, type SignalRecord } from "../store/types.js";

export const RUN_FILE_FORMAT = "dwe-run";
export const RUN_FILE_VERSION = 2;

const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true });

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

export function encodeRunFile(bundle: RunExport, now = Date.now()): Uint8Array {
  // The store checked every entry's checksum as it read the journal, so this is the stored sum.
  const journal = bundle.journal.map((e) => ({ ...e, sum: entryChecksum(e.seq, e.op, e.digest, e.state, e.payload) }));
  const body = packr.pack({ dwe: "0.1.0", exportedAt: now, ...bundle, journal });
  return packr.pack({ format: RUN_FILE_FORMAT, version: RUN_FILE_VERSION, sha256: sha256(body), body });
}

/** Decodes and checks a run file; every problem is an InvalidRunFile naming `source`. */
export function decodeRunFile(bytes: Uint8Array, source: string): RunExport {
  const bad = (what: string, cause?: unknown) => new InvalidRunFile(`${source} ${what}; nothing was imported`, { cause });
  // A run file is one MessagePack map (fixmap, map 16 or map 32); anything else (a text file, say)
  // is named as not one, without the decoder's view of it.
  const first = bytes[0];
  if (first === undefined || !((first >= 0x80 && first <= 0x8f) || first === 0xde || first === 0xdf)) {
    throw bad("is not a dwe run file (made by `dwe export`)");
  }
  let outer: unknown;
  try {
    outer = decodeMsgpack(bytes, FILE_LIMITS);
  } catch (err) {
    throw bad(`is not a dwe run file, or it is truncated or damaged (${(err as Error).message})`, err);
  }
  const o = outer as Record<string, unknown> | null;
  if (typeof o !== "object" || o === null || o.format !== RUN_FILE_FORMAT) throw bad("is not a dwe run file (made by `dwe export`)");
  if (typeof o.version !== "number" || !Number.isInteger(o.version) || o.version < 1) throw bad("has a damaged header (version)");
  if (o.version < RUN_FILE_VERSION) {
    throw bad(`was written by an older dwe (run file version ${o.version}, without journal checksums); export the run again with this dwe`);
  }
  if (o.version > RUN_FILE_VERSION) {
    throw bad(
      `was written by a newer dwe (run file version ${o.version}, this dwe reads version ${RUN_FILE_VERSION}); upgrade dwe to import it`,
    );
  }
  if (!(o.body instanceof Uint8Array) || typeof o.sha256 !== "string") throw bad("has a damaged header (body or checksum missing)");
  if (sha256(o.body) !== o.sha256) throw bad("is damaged: its checksum does not match its contents");
  let b: Record<string, unknown>;
  try {
    b = decodeMsgpack(o.body, FILE_LIMITS) as Record<string, unknown>;
  } catch (err) {
    throw bad(`has a body that cannot be decoded (${(err as Error).message})`, err);
  }
  return validate(b, bad);
}

type Bad = (what: string) => InvalidRunFile;

function validate(b: Record<string, unknown>, bad: Bad): RunExport {
  const run = b.run as RunExport["run"] | undefined;
  const module = b.module as RunExport["module"] | undefined;
  if (!run || typeof run.id !== "string" || !RUN_STATUSES.includes(run.status) || !(run.input instanceof Uint8Array)) {
    throw bad("holds no valid run");
  }
  if (!module || !(module.bytes instanceof Uint8Array) || module.sha256 !== run.module || sha256(module.bytes) !== module.sha256) {
    throw bad("holds a module that does not match the run's pinned sha256");
  }
  const configProblem = runConfigProblem(run.config);
  if (configProblem !== null) throw bad(`holds run ${run.id}, whose config ${configProblem}`);
  const journal = (b.journal ?? []) as (JournalEntry & { sum?: unknown })[];
  const logs = (b.logs ?? []) as LogRecord[];
  const signals = (b.signals ?? []) as SignalRecord[];
  if (!Array.isArray(journal) || !Array.isArray(logs) || !Array.isArray(signals)) throw bad("has a damaged journal, logs or signals");
  const states = new Set<number>(Object.values(EntryState));
  journal.forEach((e, i) => {
    if (e.seq !== i + 1 || !states.has(e.state) || !(e.payload instanceof Uint8Array)) throw bad(`has a damaged journal at entry ${i + 1}`);
    if (typeof e.op !== "number" || typeof e.digest !== "number" || entryChecksum(e.seq, e.op, e.digest, e.state, e.payload) !== e.sum) {
      throw bad(
        `holds run ${run.id}, whose journal entry seq ${e.seq} (${opName(e.op)}) fails its checksum: the file was altered or damaged`,
      );
    }
  });
  return {
    run: {
      ...run,
      // Files written before runs had names carry none.
      name: typeof run.name === "string" ? run.name : null,
      input: u8(run.input),
      output: run.output === null || run.output === undefined ? null : u8(run.output),
    },
    module: { sha256: module.sha256, kind: module.kind, bytes: u8(module.bytes) },
    journal: journal.map((e) => ({ seq: e.seq, op: e.op, digest: e.digest, state: e.state, payload: u8(e.payload) })),
    logs: logs.map((l) => ({ seq: l.seq, stream: l.stream, level: l.level, message: l.message, at: l.at })),
    signals: signals.map((s) => ({ id: s.id, name: s.name, data: u8(s.data), sentAt: s.sentAt, consumedSeq: s.consumedSeq ?? null })),
  };
}

const u8 = (b: Uint8Array) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
