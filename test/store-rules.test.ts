// The rules both stores share (engine/store/rules.ts), as pure functions: each backend only runs
// the SQL around them, and test/store-conformance.test.ts checks that both follow them.
import { describe, expect, it } from "vitest";
import { CorruptJournal, RunNotFound, RunStateError, StoreError } from "../engine/kernel/errors.js";
import { entryChecksum } from "../engine/journal/hash.js";
import { NO_GRANTS } from "../engine/kernel/grants.js";
import { OP_CODES } from "../engine/kernel/ops.js";
import {
  CANCELLED_ERROR,
  IMPORTED_RUN_COLUMNS,
  type JournalRowValues,
  checkExistingChild,
  checkJournal,
  checkSignalable,
  damagedJournal,
  endColumns,
  importedRunValues,
  moduleMissing,
  planCancel,
  runExists,
  runExistsIn,
  scheduleExists,
} from "../engine/store/rules.js";
import type { RunRecord, RunStatus } from "../engine/store/types.js";

const CLOCK = OP_CODES["clock.now"];

function row(seq: number, payload = new Uint8Array([seq]), sum?: number): JournalRowValues {
  return [seq, CLOCK, 7, 1, payload, sum ?? entryChecksum(seq, CLOCK, 7, 1, payload)];
}

function run(rid: number, id: string, status: RunStatus, leaseExpiresAt: number | null = null): RunRecord {
  return {
    rid,
    id,
    module: "m".repeat(64),
    entry: "run",
    input: new Uint8Array(),
    config: { grants: NO_GRANTS, args: [], env: {}, timeoutMs: null, maxMemoryBytes: null },
    status,
    output: null,
    error: null,
    createdAt: 1,
    updatedAt: 1,
    finishedAt: null,
    wakeAt: null,
    wakeRequested: false,
    attempts: 0,
    parentId: null,
    leaseOwner: leaseExpiresAt === null ? null : "host:1:n",
    leaseExpiresAt,
    leaseToken: 3,
    name: "flow.wasm",
  };
}

describe("a journal is intact when its seqs run from 1 without a gap and every row passes its checksum", () => {
  it("intact rows become entries, in order", () => {
    const c = checkJournal([row(1), row(2), row(3)]);
    expect(c.ok).toBe(true);
    if (c.ok) expect(c.entries.map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  it("a missing seq is a gap, named by the seq expected and the seq found", () => {
    expect(checkJournal([row(1), row(3)])).toEqual({ ok: false, problem: "the journal has a gap (expected seq 2, found seq 3)", seq: 2 });
  });

  it("a row whose checksum fails is named by its seq and op", () => {
    expect(checkJournal([row(1), row(2, new Uint8Array([2]), 12345)])).toEqual({
      ok: false,
      problem: "journal entry seq 2 (clock.now) fails its checksum",
      seq: 2,
    });
  });

  it("the error names the run, the problem and the database, and says what to do", () => {
    const err = damagedJournal("r1", "/tmp/x.db", { problem: "the journal has a gap (expected seq 2, found seq 3)", seq: 2 });
    expect(err).toBeInstanceOf(CorruptJournal);
    expect(err.seq).toBe(2);
    expect(err.message).toBe(
      "run r1: the journal has a gap (expected seq 2, found seq 3): the database /tmp/x.db was damaged; nothing was run or changed. Restore the database from a backup",
    );
  });
});

describe("a run's end maps to the columns finishRun writes", () => {
  const now = 1000;
  it("completed: the output, finished now, the parent woken", () => {
    const out = new Uint8Array([1, 2]);
    expect(endColumns({ status: "completed", output: out }, now)).toEqual({
      status: "completed",
      output: out,
      error: null,
      wakeAt: null,
      finishedAt: now,
      undo: 0,
      crashed: false,
      terminal: true,
      outcome: "completed",
    });
  });

  it("failed and cancelled store their error as JSON", () => {
    const error = { code: "trap", message: "guest trapped: unreachable" };
    for (const status of ["failed", "cancelled"] as const) {
      const c = endColumns({ status, error }, now);
      expect(c).toMatchObject({ status, error: JSON.stringify(error), finishedAt: now, terminal: true });
    }
  });

  it("suspended keeps its wake time and is not finished", () => {
    expect(endColumns({ status: "suspended", wakeAt: 5000 }, now)).toMatchObject({
      status: "suspended",
      wakeAt: 5000,
      finishedAt: null,
      terminal: false,
    });
  });

  it("released gives the run back as it was and undoes the attempt, unless the attempt crashed", () => {
    expect(endColumns({ status: "released", previous: "suspended", wakeAt: 7 }, now)).toMatchObject({
      status: "suspended",
      wakeAt: 7,
      undo: 1,
      crashed: false,
      terminal: false,
      outcome: "released",
    });
    expect(endColumns({ status: "released", previous: "pending", wakeAt: null, crashed: true }, now)).toMatchObject({
      status: "pending",
      undo: 0,
      crashed: true,
      outcome: "crashed",
    });
  });
});

describe("the cancellation walk", () => {
  const now = 10_000;
  it("ends runs not executing at once and asks executing ones (a live lease) to stop, parents first, ended runs skipped", () => {
    const family = [
      run(5, "grandchild", "running", now + 1),
      run(1, "root", "suspended"),
      run(3, "done", "completed"),
      run(2, "child", "running", now - 1), // its lease expired: nobody is executing it
    ];
    const plan = planCancel("root", family, now);
    expect(plan.outcome).toEqual({ cancelled: ["root", "child"], requested: ["grandchild"] });
    expect(plan.cancel).toEqual([1, 2]);
    expect(plan.ask).toEqual([5]);
  });

  it("refuses a run that is not there, and one that has ended", () => {
    expect(() => planCancel("nope", [], now)).toThrow(RunNotFound);
    expect(() => planCancel("root", [run(1, "root", "failed")], now)).toThrow(
      new RunStateError("run root is already failed; only a pending, running or suspended run can be cancelled"),
    );
  });

  it("stores the same error on every run it ends", () => {
    expect(JSON.parse(CANCELLED_ERROR)).toEqual({ code: "cancelled", message: "the run was cancelled (dwe cancel)" });
  });
});

describe("import, signals and children", () => {
  it("an imported run's row has one value per column, held by no one and updated now", () => {
    const { rid: _rid, ...r } = run(9, "imp", "suspended");
    const values = importedRunValues({ ...r, wakeRequested: true, cancelRequested: false }, 4242);
    expect(values).toHaveLength(IMPORTED_RUN_COLUMNS.length);
    const col = (name: (typeof IMPORTED_RUN_COLUMNS)[number]) => values[IMPORTED_RUN_COLUMNS.indexOf(name)];
    expect([col("id"), col("status"), col("updated_at"), col("lease_owner"), col("lease_expires"), col("lease_token")]).toEqual([
      "imp",
      "suspended",
      4242,
      null,
      null,
      3,
    ]);
    expect([col("wake_requested"), col("cancel_requested"), col("name")]).toEqual([1, 0, "flow.wasm"]);
  });

  it("a run takes signals until it has ended", () => {
    expect(() => checkSignalable("r", "suspended")).not.toThrow();
    expect(() => checkSignalable("r", "completed")).toThrow("run r is completed; signals can only be sent to a run that has not ended");
  });

  it("a child asked for again is the existing run; another run's id is refused", () => {
    expect(() => checkExistingChild("c", "p", "p")).not.toThrow();
    expect(() => checkExistingChild("c", null, "p")).toThrow("run id 'c' is taken by a run that is not a child of p");
  });
});

describe("refusals say what was refused and what to do, the same from both stores", () => {
  it("ids and names that are taken", () => {
    expect(runExists("a").message).toBe("a run with id 'a' already exists; pick another --id or resume it with `dwe resume a`");
    expect(runExistsIn("a", "/x.db").message).toBe("a run with id 'a' already exists in /x.db; nothing was imported");
    expect(scheduleExists("s").message).toBe("a schedule named 's' already exists; remove it first with `dwe schedule remove s`");
    for (const e of [runExists("a"), runExistsIn("a", "/x.db"), scheduleExists("s")]) expect(e).toBeInstanceOf(RunStateError);
  });

  it("a module missing from the database", () => {
    const e = moduleMissing("r", "ab12", "/x.db");
    expect(e).toBeInstanceOf(StoreError);
    expect(e.message).toBe("run r pins module ab12, which is missing from /x.db");
  });
});
