// How often executing a run asks the store for its row and its journal, counted by a wrapper around
// a real SQLite store: an attempt is prepared once (prepareAttempt) from the run read before its
// lease and the run read after it, with the journal read once (by `dwe resume` too, whose checks read it first).
import { afterEach, describe, expect, it } from "vitest";
import { Dwe } from "../engine/api/index.js";
import { executeHere } from "../engine/api/execute-here.js";
import { resumeRun } from "../engine/api/resume.js";
import { example, workdir } from "./support/cli.js";
import { countingStore } from "./support/counting-store.js";

const HELLO = example("hello");

describe("store reads of one execution", () => {
  let w: ReturnType<typeof workdir>;
  let dwe: Dwe;
  afterEach(async () => {
    await dwe.close();
    w.cleanup();
  });

  it("a run executed here (dwe run) reads its row three times (before its lease, after it, once ended) and its journal once", async () => {
    w = workdir("dwe-reads-");
    dwe = await Dwe.open({ db: w.db, cwd: w.dir });
    const run = await dwe.start(HELLO, { id: "reads", input: { name: "ana" }, detach: true });
    const c = countingStore(dwe.store());
    const ended = await executeHere(c.store, run.id, { cwd: w.dir, db: w.db, durability: "process", onChildError: () => undefined });
    expect(ended.status).toBe("completed");
    expect(c.count("getRun")).toBe(3);
    expect(c.count("readJournal")).toBe(1);
    expect(c.count("finishRun")).toBe(1);
  });

  it("a run resumed here (dwe resume) reads its journal once: the read its checks made is the attempt's", async () => {
    w = workdir("dwe-reads-");
    dwe = await Dwe.open({ db: w.db, cwd: w.dir });
    const run = await dwe.start(HELLO, { id: "resumed", input: { name: "ana" }, detach: true });
    const c = countingStore(dwe.store());
    const ended = await resumeRun(
      {
        store: c.store,
        db: w.db,
        durability: "process",
        cwd: w.dir,
        execute: (id, e) =>
          executeHere(c.store, id, {
            cwd: w.dir,
            db: w.db,
            durability: "process",
            onChildError: () => undefined,
            ...(e.journal && { journal: e.journal }),
          }),
      },
      run.id,
      {},
    );
    expect(ended.status).toBe("completed");
    expect(c.count("readJournal")).toBe(1);
    expect(c.count("finishRun")).toBe(1);
  });
});
