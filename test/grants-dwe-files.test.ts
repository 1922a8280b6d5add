// A --dir grant must never expose dwe's own files: the database (and its -wal/-shm), the cache of
// code dwe executes, or dwe's installation (docs/security.md, "dwe's own files").
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { ROOT, dwe, example, workdir } from "./support/cli.js";
import { runIn, startWorker, waitFor, type WorkerProcess } from "./support/worker.js";
import { openStoreAt } from "../engine/store/open.js";
import { createTestDatabase, pgTestsEnabled, sql } from "./support/postgres.js";
import type { Grants } from "../engine/kernel/grants.js";

const HELLO = example("hello");
const pgEnabled = await pgTestsEnabled("grants over dwe's own files");

/** Adds run `id` with `grants`, as an import or another host's dwe could have stored it. */
async function storeRunWithGrants(db: string, template: string, id: string, grants: Grants): Promise<void> {
  const store = openStoreAt(db, "process", false);
  try {
    const t = (await store.getRun(template))!;
    await store.createRun({
      id,
      module: t.module,
      entry: t.entry,
      input: t.input,
      config: { ...t.config, grants },
      parentId: null,
      status: "pending",
    });
  } finally {
    await store.close();
  }
}

describe("grants that contain dwe's own files", () => {
  let w: ReturnType<typeof workdir>;
  const workers: WorkerProcess[] = [];
  beforeEach(() => {
    w = workdir("dwe-own-files-");
  });
  afterEach(async () => {
    for (const p of workers.splice(0)) await p.stop("SIGKILL");
    w.cleanup();
  });

  it("dwe run --dir . where the default database .dwe/dwe.db would be created is refused, and nothing is created", () => {
    const r = dwe(["run", HELLO, "--dir", "."], { cwd: w.dir, db: ".dwe/dwe.db" });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain(`--dir ${w.dir} contains the dwe database ${join(w.dir, ".dwe", "dwe.db")}`);
    expect(r.stderr).toContain("keep the database elsewhere (--db or DWE_DB)");
    expect(existsSync(join(w.dir, ".dwe"))).toBe(false);
  });

  it("a grant of the database's directory through a symlink is refused too; a directory beside it is fine", () => {
    symlinkSync(join(w.db, ".."), join(w.dir, "link"));
    const r = dwe(["run", HELLO, "--dir", "link:/data:ro"], { cwd: w.dir, db: w.db });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`contains the dwe database ${w.db}`);
    mkdirSync(join(w.dir, "data"));
    expect(dwe(["run", HELLO, "--dir", "data:/data"], { cwd: w.dir, db: w.db }).code).toBe(0);
  });

  it("a grant containing the cache directory, or inside it, is refused", () => {
    const cache = join(w.dir, "cache");
    const env = { DWE_CACHE_DIR: cache };
    const outer = dwe(["run", HELLO, "--dir", `${w.dir}:/w`], { cwd: w.dir, db: w.db, env });
    expect(outer.code).toBe(2);
    expect(outer.stderr).toContain(`--dir ${w.dir} contains the dwe cache ${cache}`);
    expect(outer.stderr).toContain("set DWE_CACHE_DIR to a directory outside every grant");
    // An existing directory inside the cache (a missing one is refused earlier, as missing).
    mkdirSync(join(cache, "sub"), { recursive: true });
    const inner = dwe(["run", HELLO, "--dir", `${join(cache, "sub")}:/c`], { cwd: w.dir, db: w.db, env });
    expect(inner.code).toBe(2);
    expect(inner.stderr).toContain(`--dir ${join(cache, "sub")} is inside the dwe cache ${cache}`);
  });

  it("a writable grant over dwe's installation is refused; a read-only one is allowed", () => {
    const rw = dwe(["run", HELLO, "--dir", `${ROOT}:/dwe`], { cwd: w.dir, db: w.db });
    expect(rw.code).toBe(2);
    expect(rw.stderr).toContain("the dwe installation");
    expect(rw.stderr).toContain("grant it read-only (:ro)");
    expect(dwe(["run", HELLO, "--dir", `${ROOT}:/dwe:ro`], { cwd: w.dir, db: w.db }).code).toBe(0);
  });

  it("dwe resume of a run whose stored grant contains the database is refused; resuming with grant flags that leave it out runs it", async () => {
    expect(dwe(["start", HELLO, "--id", "good"], { cwd: w.dir, db: w.db }).code).toBe(0);
    mkdirSync(join(w.dir, "data"));
    await storeRunWithGrants(w.db, "good", "bad", {
      dirs: [{ host: join(w.db, ".."), guest: "/all", readonly: false }],
      net: [],
      shell: false,
    });
    const r = dwe(["resume", "bad"], { cwd: w.dir, db: w.db });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`run bad was not resumed: its stored grant --dir ${join(w.db, "..")} contains the dwe database ${w.db}`);
    expect(runIn(w.db, "bad").status).toBe("pending");
    expect(dwe(["resume", "bad", "--grant", "--dir", `${join(w.dir, "data")}:/all`], { cwd: w.dir, db: w.db }).code).toBe(0);
    expect(runIn(w.db, "bad").status).toBe("completed");
  });

  it.runIf(pgEnabled)("PostgreSQL: a worker fails a run whose grant contains the worker's cache directory", async () => {
    const pg = await createTestDatabase();
    try {
      const at = { dir: w.dir, db: pg.url };
      const cache = join(w.dir, "cache");
      expect(dwe(["start", HELLO, "--id", "good"], { cwd: w.dir, db: pg.url }).code).toBe(0);
      await storeRunWithGrants(pg.url, "good", "bad", { dirs: [{ host: w.dir, guest: "/w", readonly: true }], net: [], shell: false });
      const p = startWorker(at, [], { DWE_CACHE_DIR: cache });
      workers.push(p);
      const status = async (id: string) =>
        (await sql(pg.url, "SELECT status, error FROM runs WHERE id = $1", [id])).rows[0] as { status: string; error: string | null };
      const end = Date.now() + 60_000;
      while (((await status("good")).status !== "completed" || (await status("bad")).status !== "failed") && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 100));
      }
      expect((await status("good")).status).toBe("completed");
      const err = JSON.parse((await status("bad")).error!) as { code: string; message: string };
      expect(err).toEqual({
        code: "grant_refused",
        message:
          `run bad was not executed: its grant --dir ${w.dir} contains the dwe cache ${cache}, which a guest must never reach; ` +
          "grant a directory that does not contain it, or set DWE_CACHE_DIR to a directory outside every grant",
      });
    } finally {
      for (const p of workers.splice(0)) await p.stop("SIGKILL");
      await pg.drop();
    }
  });

  it("a worker fails a run whose grant contains its database, with a clear error, and runs the innocent ones", async () => {
    expect(dwe(["start", HELLO, "--id", "good"], { cwd: w.dir, db: w.db }).code).toBe(0);
    await storeRunWithGrants(w.db, "good", "bad", { dirs: [{ host: "/", guest: "/", readonly: true }], net: [], shell: false });
    const p = startWorker(w);
    workers.push(p);
    await waitFor("both runs to end", () => runIn(w.db, "good").status === "completed" && runIn(w.db, "bad").status === "failed");
    const err = JSON.parse(runIn(w.db, "bad").error!) as { code: string; message: string };
    expect(err.code).toBe("grant_refused");
    expect(err.message).toBe(
      `run bad was not executed: its grant --dir / contains the dwe database ${w.db}, which a guest must never reach; ` +
        "grant a directory that does not contain it, or keep the database elsewhere (--db or DWE_DB)",
    );
  });
});
