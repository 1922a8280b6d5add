// `dwe resume` uses exactly the grants a run was started with; grant flags replace them, and flags
// that widen them are refused unless confirmed with --grant. The grants in force are stored.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dumpDatabase } from "./support/database.js";
import { dweAsync, example, workdir } from "./support/cli.js";
import { CountingServer } from "./support/servers.js";
import { abiGuest } from "./support/guest-wat.js";
import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

interface Shown {
  status: string;
  grants: { dirs: unknown[]; net: { host: string; port: number | null }[]; shell: boolean | { name: string; path: string }[] };
  error: { code: string; message: string } | null;
}

describe("resume grants", () => {
  const w = workdir();
  const server = new CountingServer();
  let url: string;
  const cli = (args: string[]) => dweAsync(args, { cwd: w.dir, db: w.db });
  const show = async (id: string) => JSON.parse((await cli(["show", id, "--json"])).stdout) as Shown;
  const input = () => JSON.stringify({ n: 2, file: "out.txt", url });
  /** A pending run of the effects example (created, not executed). */
  const detached = async (id: string, grants: string[]) => {
    const r = await cli(["run", example("effects"), "--detach", "--id", id, "--input", input(), ...grants]);
    expect(r.code, r.stderr).toBe(0);
  };

  beforeAll(async () => {
    mkdirSync(join(w.dir, "files")); // the commands' working directory, granted with --dir files
    url = await server.start();
  });
  afterAll(async () => {
    await server.stop();
    w.cleanup();
  });

  it("without grant flags a resume has exactly the stored grants: none means the effect is denied", async () => {
    await detached("bare", []);
    const r = await cli(["resume", "bare", "--quiet"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/run bare failed: guest_failed: .*denied|not granted/);
    expect(server.received).toHaveLength(0);
  });

  it("flags that widen the stored grants are refused without --grant, and nothing changes", async () => {
    await detached("narrow", ["--allow-shell", "sh", "--allow-net", `127.0.0.1:${new URL(url).port}`]);
    const before = dumpDatabase(w.db, ["runs", "journal"]);
    for (const flags of [["--allow-net", "127.0.0.1"], ["--allow-shell"], ["--allow-shell", "sh,bash"], ["--dir", "."]]) {
      const r = await cli(["resume", "narrow", ...flags]);
      expect(r.code, flags.join(" ")).toBe(2);
      const line = r.stderr.trim();
      expect(line.split("\n")).toHaveLength(1);
      expect(line).toMatch(
        /^dwe: error: resuming run narrow with .* would widen the grants it was started with \(net 127\.0\.0\.1:\d+; shell sh \(\/\S+\/sh\)\); add --grant/,
      );
    }
    const alone = await cli(["resume", "narrow", "--grant"]);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain("--grant only confirms grant flags");
    expect(dumpDatabase(w.db, ["runs", "journal"])).toEqual(before);
    expect((await show("narrow")).grants).toMatchObject({
      shell: [{ name: "sh", path: expect.stringMatching(/\/sh$/) as unknown }],
      net: [{ host: "127.0.0.1", port: Number(new URL(url).port) }],
    });
  });

  it("with --grant the wider grants are used and stored", async () => {
    await detached("bare2", []);
    const r = await cli(["resume", "bare2", "--allow-shell", "--dir", "files", "--allow-net", "127.0.0.1", "--grant", "--quiet"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ steps: 2 });
    const s = await show("bare2");
    expect(s.status).toBe("completed");
    expect(s.grants).toMatchObject({ shell: true, net: [{ host: "127.0.0.1", port: null }] });
    const text = (await cli(["show", "bare2"])).stdout;
    expect(text).toMatch(/grants +dir \S+ -> \S+; net 127\.0\.0\.1; shell \(any program\)/);
  });

  it("a program list grant admits the named programs only, not a path that ends in one of their names", async () => {
    // exec {argv: ["/bin/sh", "-c", "true"]} with --allow-shell sh: denied (an error value, journaled).
    const m = abiGuest(w.dir, "path-exec", {
      data: { 0: "exec", 16: "\\81\\a4argv\\93\\a7/bin/sh\\a2-c\\a4true" },
      body: "(drop (call $call (i32.const 0) (i32.const 4) (i32.const 16) (i32.const 23)))",
    });
    const r = await cli(["run", m, "--id", "path-exec", "--allow-shell", "sh", "--quiet"]);
    expect(r.code, r.stderr).toBe(0);
    const db = new Database(w.db, { readonly: true });
    const row = db.prepare("SELECT j.state, j.payload FROM journal j JOIN runs USING (rid) WHERE id = 'path-exec' AND seq = 1").get() as {
      state: number;
      payload: Buffer;
    };
    db.close();
    expect(row.state).toBe(2);
    expect(row.payload.toString()).toContain("running '/bin/sh' was not granted");
  });

  it("narrower (or equal) grant flags need no --grant; they replace the stored grants", async () => {
    await detached("wide", ["--allow-shell", "--dir", "files", "--allow-net", "127.0.0.1"]);
    const r = await cli(["resume", "wide", "--allow-shell", "sh", "--dir", "files", "--allow-net", "127.0.0.1", "--quiet"]);
    expect(r.code, r.stderr).toBe(0);
    expect((await show("wide")).grants).toMatchObject({
      shell: [{ name: "sh", path: expect.stringMatching(/\/sh$/) as unknown }],
      net: [{ host: "127.0.0.1", port: null }],
    });
  });
});
