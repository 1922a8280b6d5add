// Limits that limit (issue 11, finding 11): whatever a module declares or grows (shared memories,
// tables), whatever the host allocates on its behalf (gathered WASI writes, journal batches) and
// however long its journal gets, a guest stays inside bounds the user set or dwe documents.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import binaryen from "binaryen";
import Database from "better-sqlite3";
import { BATCH_BYTES, JournalWriter } from "../engine/executor/journal-writer.js";
import { EntryState } from "../engine/journal/entry.js";
import { newOwnerId } from "../engine/store/lease-owner.js";
import { openStoreAt } from "../engine/store/open.js";
import { MAX_TABLE_ELEMENTS } from "../engine/runtime/wasm-binary.js";
import { dwe, workdir } from "./support/cli.js";
import { abiGuest } from "./support/guest-wat.js";

/** Compiles WAT with the features these guests need (threads for shared memory, reference types). */
function wat(dir: string, name: string, text: string): string {
  const mod = binaryen.parseText(text);
  try {
    const F = binaryen.Features;
    mod.setFeatures(F.MVP | F.MutableGlobals | F.SignExt | F.BulkMemory | F.Atomics | F.ReferenceTypes);
    if (!mod.validate()) throw new Error(`WAT module ${name} does not validate`);
    const path = join(dir, `${name}.wasm`);
    writeFileSync(path, mod.emitBinary());
    return path;
  } finally {
    mod.dispose();
  }
}

describe("limits that limit", () => {
  const w = workdir("dwe-limits-");
  afterAll(() => w.cleanup());
  const cli = (args: string[]) => dwe(args, { cwd: w.dir, db: w.db });
  const completes = (args: string[]) => {
    const r = cli(args);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  };

  it("a shared memory cannot grow past --max-memory", () => {
    const m = wat(
      w.dir,
      "shared-grow",
      `(module
        (memory (export "memory") 1 65536 shared)
        (func (export "run")
          (loop $more (br_if $more (i32.ne (memory.grow (i32.const 64)) (i32.const -1))))
          ;; 4 MiB is 64 pages: a trap says it grew past them.
          (if (i32.gt_u (memory.size) (i32.const 64)) (then unreachable))))`,
    );
    completes(["run", m, "--id", "shared", "--quiet", "--max-memory", "4M"]);
  });

  it("funcref and externref tables cannot grow past their share of the table limit", () => {
    const m = wat(
      w.dir,
      "table-grow",
      `(module
        (memory (export "memory") 1)
        (table $f 1 funcref)
        (table $e 0 externref)
        (func (export "run") (local $total i32)
          (loop $more (br_if $more (i32.ne (table.grow $f (ref.null func) (i32.const 10000)) (i32.const -1))))
          (loop $more (br_if $more (i32.ne (table.grow $e (ref.null extern) (i32.const 10000)) (i32.const -1))))
          (local.set $total (i32.add (table.size $f) (table.size $e)))
          ;; Past the limit, or (a broken cap) far below it: trap.
          (if (i32.gt_u (local.get $total) (i32.const ${MAX_TABLE_ELEMENTS})) (then unreachable))
          (if (i32.lt_u (local.get $total) (i32.const ${MAX_TABLE_ELEMENTS - 20_000})) (then unreachable))))`,
    );
    completes(["run", m, "--id", "tables", "--quiet"]);
  });

  it("a module whose tables start past the limit is refused before a run is created", () => {
    const m = wat(w.dir, "table-huge", `(module (memory (export "memory") 1) (table 2000000 funcref) (func (export "run")))`);
    const r = cli(["run", m, "--id", "table-huge"]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/tables start with 2000000 elements, over the limit of 1048576/);
    expect(cli(["show", "table-huge"]).code).toBe(2);
  });

  it("one fd_write of many iovecs over the same 16 MB takes at most 16 MiB (a short write), not their 2.2 GB sum", () => {
    // 140 iovecs, each [65536, +16,000,000): the old code concatenated all of them (2.24 GB).
    const m = wat(
      w.dir,
      "iovecs",
      `(module
        (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 256)
        (func (export "_start") (local $i i32)
          (loop $l
            (i32.store (i32.add (i32.const 1024) (i32.mul (local.get $i) (i32.const 8))) (i32.const 65536))
            (i32.store (i32.add (i32.const 1028) (i32.mul (local.get $i) (i32.const 8))) (i32.const 16000000))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $l (i32.lt_u (local.get $i) (i32.const 140))))
          (if (i32.ne (call $w (i32.const 1) (i32.const 1024) (i32.const 140) (i32.const 0)) (i32.const 0)) (then unreachable))
          (if (i32.gt_u (i32.load (i32.const 0)) (i32.const 16777216)) (then unreachable))))`,
    );
    const r = cli(["run", m, "--id", "iovecs", "--quiet"]);
    expect(r.code, r.stderr).toBe(0);
  });

  it("--max-journal-entries fails the run with journal_limit when its journal is full", () => {
    const m = abiGuest(w.dir, "clock-loop", {
      data: { 0: "clock.now" },
      body: "(loop $forever (drop (call $call (i32.const 0) (i32.const 9) (i32.const 0) (i32.const 0))) (br $forever))",
    });
    const r = cli(["run", m, "--id", "entries", "--quiet", "--max-journal-entries", "1000"]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      "dwe: run entries failed: journal_limit: run entries reached its journal limit of 1000 entries; raise --max-journal-entries if it really needs more",
    );
    const shown = JSON.parse(cli(["show", "entries", "--json"]).stdout) as { journal: { entries: number } };
    expect(shown.journal.entries).toBe(1000);
    expect(cli(["verify", "entries"]).code).toBe(0);
  });

  it("--max-journal-bytes fails the run with journal_limit when its journal payloads would pass it", () => {
    // random.bytes {len: 65536}, for ever: 64 KiB of journal each.
    const m = abiGuest(w.dir, "random-loop", {
      data: { 0: "random.bytes", 16: "\\81\\a3len\\cd\\ff\\ff" },
      body: "(loop $forever (drop (call $call (i32.const 0) (i32.const 12) (i32.const 16) (i32.const 8))) (br $forever))",
    });
    const r = cli(["run", m, "--id", "bytes", "--quiet", "--max-journal-bytes", "1M"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("journal_limit: run bytes reached its journal limit of 1048576 bytes; raise --max-journal-bytes");
    const db = new Database(w.db, { readonly: true });
    try {
      const { total } = db
        .prepare("SELECT SUM(LENGTH(payload)) AS total FROM journal j JOIN runs r ON r.rid = j.rid WHERE r.id = 'bytes'")
        .get() as { total: number };
      expect(total).toBeLessThanOrEqual(1024 * 1024);
    } finally {
      db.close();
    }
  });

  it("results a guest never waits for cannot pile up: the journal batch applies backpressure by bytes", async () => {
    const m = abiGuest(w.dir, "plain", { body: "" });
    expect(cli(["start", m, "--id", "batch"]).code).toBe(0);
    const store = openStoreAt(w.db, "process");
    try {
      const lease = await store.acquireLease("batch", newOwnerId(), 30_000, false);
      const journal = new JournalWriter(store, lease, { maxBatch: 512, maxDelayMs: 20 });
      // What a guest reading 1 MiB results in a loop that never yields hands the writer.
      const payload = new Uint8Array(1024 * 1024);
      let added = 0;
      while (!journal.backlogged && added < 512) {
        journal.add({ seq: added + 1, op: 4, digest: 0, state: EntryState.Ok, payload });
        added++;
      }
      expect(journal.backlogged).toBe(true);
      expect(added * payload.length).toBeLessThanOrEqual(BATCH_BYTES * 8);
      await journal.commit();
    } finally {
      await store.close();
    }
  });
});
