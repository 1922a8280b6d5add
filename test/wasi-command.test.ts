// An ordinary Rust WASI command (test/fixtures/wasi/cat-or-panic.rs, std only) under `dwe run`, as a
// wasmtime user runs one: a panic's message is kept in the run's stored error (what `dwe show` and
// `--json` say, not only the logs), and a host directory whose path contains ':' can be granted
// with wasmtime's HOST::GUEST spelling (relative or absolute, also read-only).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dwe, ROOT, workdir } from "./support/cli.js";

const GUEST = join(ROOT, "test", "fixtures", "wasi", "cat-or-panic.wasm");

interface Shown {
  status: string;
  error: { code: string; message: string } | null;
  grants: { dirs: { host: string; guest: string; readonly: boolean }[] };
}

describe("a Rust WASI command under dwe run", () => {
  let w: ReturnType<typeof workdir>;
  const cli = (args: string[]) => dwe(args, { cwd: w.dir, db: w.db });
  const show = (id: string) => JSON.parse(cli(["show", id, "--json"]).stdout) as Shown;

  beforeAll(() => {
    w = workdir("dwe-wasi-command-");
    mkdirSync(join(w.dir, "a:b"));
    writeFileSync(join(w.dir, "a:b", "note.txt"), "granted through a path with a colon\n");
  });
  afterAll(() => w.cleanup());

  it("keeps a panic's message in the run's stored error, shown by `dwe show --json` and `dwe run --json`", () => {
    const r = cli(["run", GUEST, "--id", "panics", "--", "--panic", "the disk is on fire"]);
    expect(r.code).toBe(1);
    const shown = show("panics");
    expect(shown.status).toBe("failed");
    expect(shown.error?.code).toBe("trap");
    expect(shown.error?.message).toMatch(/guest trapped: unreachable; the program's stderr ended with: .*panicked at/);
    expect(shown.error?.message).toContain("told to panic: the disk is on fire");

    const json = cli(["run", GUEST, "--id", "panics-json", "--json", "--", "--panic", "out of cheese"]);
    expect(json.code).toBe(1);
    expect((JSON.parse(json.stdout) as Shown).error?.message).toContain("told to panic: out of cheese");
  });

  it("grants a host directory whose path contains ':' with HOST::GUEST, relative or absolute, also :ro", () => {
    const relative = cli(["run", GUEST, "--id", "colon-rel", "--dir", "a:b::/data", "--", "/data/note.txt"]);
    expect(relative.code, relative.stderr).toBe(0);
    expect(relative.stdout).toBe("granted through a path with a colon\n");
    expect(show("colon-rel").grants.dirs).toEqual([{ host: join(w.dir, "a:b"), guest: "/data", readonly: false }]);

    const absolute = cli(["run", GUEST, "--id", "colon-ro", "--dir", `${join(w.dir, "a:b")}::/in:ro`, "--", "/in/note.txt"]);
    expect(absolute.code, absolute.stderr).toBe(0);
    expect(absolute.stdout).toBe("granted through a path with a colon\n");
    expect(show("colon-ro").grants.dirs).toEqual([{ host: join(w.dir, "a:b"), guest: "/in", readonly: true }]);
  });

  it("refuses the single-colon spelling of such a path with one line naming the fix, before making a run", () => {
    const r = cli(["run", GUEST, "--id", "colon-bad", "--dir", "a:b:/data", "--", "/data/note.txt"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad --dir 'a:b:\/data'.*HOST::GUEST/);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(cli(["show", "colon-bad"]).code).not.toBe(0);
  });
});
