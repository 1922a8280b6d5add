// A run file is untrusted: anyone can write one, checksums and all. `dwe import` holds back the
// grants it carries until the user confirms them (as `dwe resume --grant` confirms widening), checks
// every journal entry's checksum as the file states it, and refuses a malformed config.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Packr } from "msgpackr";
import { dwe, dweAsync, workdir } from "./support/cli.js";
import { CountingServer } from "./support/servers.js";
import { setTimeout as delay } from "node:timers/promises";
import { WORKER_WASM, runIn, startWorker, waitFor } from "./support/worker.js";

const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true });

/** Rewrites a run file's body as an attacker would: the body's sha256 is recomputed to match. */
function forge(file: string, out: string, edit: (body: Record<string, unknown>) => void): string {
  const outer = packr.unpack(readFileSync(file)) as Record<string, unknown>;
  const body = packr.unpack(outer.body as Uint8Array) as Record<string, unknown>;
  edit(body);
  const bytes = packr.pack(body);
  writeFileSync(out, packr.pack({ ...outer, body: bytes, sha256: createHash("sha256").update(bytes).digest("hex") }));
  return out;
}

interface FileRun {
  id: string;
  config: { grants: unknown };
}

describe("dwe import of an untrusted run file", () => {
  let server: CountingServer;
  let url: string;
  const dirs: ReturnType<typeof workdir>[] = [];
  const dir = () => {
    const d = workdir("dwe-import-");
    dirs.push(d);
    return d;
  };
  beforeAll(async () => {
    server = new CountingServer();
    url = await server.start();
  });
  afterAll(async () => {
    await server.stop();
    for (const d of dirs) d.cleanup();
  });
  const sentBy = (id: string) => server.received.filter((r) => r.key?.startsWith(`${id}:`)).length;

  /** A pending run (never executed) granted 127.0.0.1, exported to a file. */
  function exported(id: string): { file: string; from: ReturnType<typeof workdir> } {
    const a = dir();
    const args = [
      "start",
      WORKER_WASM,
      "--entry",
      "steps",
      "--id",
      id,
      "--allow-net",
      "127.0.0.1",
      "--input",
      JSON.stringify({ url, n: 1 }),
    ];
    expect(dwe(args, { cwd: a.dir, db: a.db }).code).toBe(0);
    const file = join(a.dir, `${id}.dwe`);
    expect(dwe(["export", id, "-o", file], { cwd: a.dir, db: a.db }).code).toBe(0);
    return { file, from: a };
  }

  it("a hand-made file granting / , any host and any program imports with no grants; the run cannot use them until resume --grant", async () => {
    const { file, from } = exported("evil");
    const forged = forge(file, join(from.dir, "forged.dwe"), (b) => {
      (b.run as FileRun).config.grants = {
        dirs: [{ host: "/", guest: "/", readonly: false }],
        net: [{ host: "*", port: null }],
        shell: true,
      };
    });
    const b = dir();
    const imp = dwe(["import", forged], { cwd: b.dir, db: b.db });
    expect(imp.code).toBe(0);
    expect(imp.stdout).toContain("imported run evil (suspended, 0 journal entries)");
    expect(imp.stderr.trim()).toBe(
      "dwe: run evil was imported without the grants its file carries (dir / -> /; net *; shell (any program)); it has none and waits, suspended. " +
        "Check them, then give them with `dwe resume evil --grant --dir /:/ --allow-net '*' --allow-shell` (or `dwe resume evil` runs it without them)",
    );
    const show = JSON.parse(dwe(["show", "evil", "--json"], { cwd: b.dir, db: b.db }).stdout) as { grants: unknown };
    expect(show.grants).toEqual({ dirs: [], net: [], shell: false });

    // A worker leaves it alone (it waits for the user), while it does execute another run.
    const other = [
      "start",
      WORKER_WASM,
      "--entry",
      "steps",
      "--id",
      "other",
      "--allow-net",
      "127.0.0.1",
      "--input",
      JSON.stringify({ url, n: 1 }),
    ];
    expect(dwe(other, { cwd: b.dir, db: b.db }).code).toBe(0);
    const p = startWorker(b);
    await waitFor("the other run", () => runIn(b.db, "other").status === "completed");
    await delay(500);
    await p.stop("SIGKILL");
    expect(JSON.parse(dwe(["show", "evil", "--json"], { cwd: b.dir, db: b.db }).stdout)).toMatchObject({
      status: "suspended",
      attempts: 0,
    });
    expect(sentBy("evil")).toBe(0);

    // Resumed as it is, the run has no grants: its request is denied, nothing reaches the server.
    const bare = await dweAsync(["resume", "evil", "--quiet"], { cwd: b.dir, db: b.db });
    expect(bare.code).toBe(1);
    expect(bare.stderr).toMatch(/denied/);
    expect(sentBy("evil")).toBe(0);

    // The same file with --grant: its `--dir /` contains the importing database, so it is refused.
    const c = dir();
    const granted = dwe(["import", forged, "--grant"], { cwd: c.dir, db: c.db });
    expect(granted.code).toBe(2);
    expect(granted.stderr).toContain(`--dir / contains the dwe database ${c.db}`);
    expect(existsSync(c.db)).toBe(false);
  });

  it("held grants are given as resume gives wider ones: refused without --grant, used with it", async () => {
    const { file } = exported("held");
    const b = dir();
    const imp = dwe(["import", file, "--json"], { cwd: b.dir, db: b.db });
    expect(imp.code).toBe(0);
    expect(JSON.parse(imp.stdout)).toMatchObject({ id: "held", grants: [], held_grants: ["net 127.0.0.1"] });
    const refused = dwe(["resume", "held", "--allow-net", "127.0.0.1"], { cwd: b.dir, db: b.db });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/would widen the grants it was started with \(none\); add --grant/);
    const ok = await dweAsync(["resume", "held", "--grant", "--allow-net", "127.0.0.1", "--quiet"], { cwd: b.dir, db: b.db });
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    expect(sentBy("held")).toBe(1);
  });

  it("a journal entry altered in the file, even with the file's sha256 recomputed, is refused naming run and seq", async () => {
    const a = dir();
    const run = await dweAsync(
      [
        "run",
        WORKER_WASM,
        "--entry",
        "steps",
        "--id",
        "done",
        "--allow-net",
        "127.0.0.1",
        "--input",
        JSON.stringify({ url, n: 1 }),
        "--quiet",
      ],
      { cwd: a.dir, db: a.db },
    );
    expect(run.code).toBe(0);
    const file = join(a.dir, "done.dwe");
    expect(dwe(["export", "done", "-o", file], { cwd: a.dir, db: a.db }).code).toBe(0);
    const tampered = forge(file, join(a.dir, "tampered.dwe"), (b) => {
      const entry = (b.journal as { payload: Uint8Array }[])[1]!;
      entry.payload = new Uint8Array([...entry.payload, 0]);
    });
    const b = dir();
    const imp = dwe(["import", tampered], { cwd: b.dir, db: b.db });
    expect(imp.code).toBe(2);
    expect(imp.stderr.trim()).toMatch(
      /^dwe: error: .*tampered\.dwe holds run done, whose journal entry seq 2 \([a-z.]+\) fails its checksum: the file was altered or damaged; nothing was imported$/,
    );
    expect(existsSync(b.db)).toBe(false);
  });

  it("a file whose run config is malformed is refused before the database is touched", () => {
    const { file, from } = exported("badcfg");
    const bad = forge(file, join(from.dir, "badcfg-forged.dwe"), (b) => {
      (b.run as FileRun).config.grants = "everything";
    });
    const b = dir();
    const imp = dwe(["import", bad], { cwd: b.dir, db: b.db });
    expect(imp.code).toBe(2);
    expect(imp.stderr).toMatch(/holds run badcfg, whose config has no valid grants; nothing was imported/);
    expect(existsSync(b.db)).toBe(false);
  });
});
