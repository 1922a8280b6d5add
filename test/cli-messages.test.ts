// What the CLI says (issue 14 §3 and §6): --json on every verb that prints something, errors as one
// JSON line on stderr with --json and as one `dwe: error:` line without, commander's own errors
// included; hints that name commands that work; --allow-shell before the module path.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DWE, ROOT, dwe, example, workdir } from "./support/cli.js";
import { compileAs } from "./support/assemblyscript.js";

/** The one line an error printed on stderr. */
function oneLine(stderr: string): string {
  const lines = stderr.trim().split("\n");
  expect(lines, stderr).toHaveLength(1);
  return lines[0]!;
}

/** The `{"error": {code, message}}` line of a --json error. */
function jsonError(stderr: string): { code: string; message: string } {
  const parsed = JSON.parse(oneLine(stderr)) as { error: { code: string; message: string } };
  expect(Object.keys(parsed.error).sort()).toEqual(["code", "message"]);
  return parsed.error;
}

describe("CLI output and messages", () => {
  const w = workdir("dwe-msg-");
  const cli = (args: string[], db = w.db) => dwe(args, { cwd: w.dir, db });

  beforeAll(() => {
    expect(cli(["run", example("hello"), "--id", "done"]).code).toBe(0);
  });
  afterAll(() => w.cleanup());

  it("start, run --detach, signal and schedule add/remove print JSON with --json", () => {
    const started = cli(["start", example("hello"), "--id", "s1", "--json"]);
    expect(started.code).toBe(0);
    expect(JSON.parse(started.stdout)).toMatchObject({ id: "s1", status: "pending", name: "hello.wasm", error: null });
    const detached = cli(["run", example("hello"), "--id", "s2", "--detach", "--json"]);
    expect(JSON.parse(detached.stdout)).toMatchObject({ id: "s2", status: "pending" });
    expect(cli(["start", example("hello"), "--id", "s3"]).stdout).toBe("s3\n");
    const signal = cli(["signal", "s1", "go", "--data", "1", "--json"]);
    expect(signal.code).toBe(0);
    expect(JSON.parse(signal.stdout)).toEqual({ id: expect.any(Number) as unknown, run: "s1", name: "go" });
    const added = cli(["schedule", "add", "nightly", "--cron", "0 3 * * *", example("hello"), "--json"]);
    expect(added.code, added.stderr).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({
      name: "nightly",
      cron: "0 3 * * *",
      next_tick: expect.stringMatching(/T03:00:00/) as unknown,
    });
    expect(JSON.parse(cli(["schedule", "remove", "nightly", "--json"]).stdout)).toEqual({ name: "nightly", removed: true });
  });

  it("with --json an error is one JSON line on stderr, with the same exit code", () => {
    const r = cli(["show", "nope", "--json"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(jsonError(r.stderr)).toMatchObject({
      code: "run_not_found",
      message: expect.stringContaining("no run with id 'nope'") as unknown,
    });
    expect(jsonError(cli(["runs", "--json", "--status", "done"]).stderr).code).toBe("usage");
    const bad = cli(["start", join(w.dir, "missing.wasm"), "--json"]);
    expect(bad.code).toBe(2);
    expect(jsonError(bad.stderr).message).toContain("no such file");
    // Commander's own errors too.
    const unknown = cli(["runs", "--json", "--bogus"]);
    expect(unknown.code).toBe(2);
    expect(jsonError(unknown.stderr)).toEqual({ code: "usage", message: "unknown option '--bogus'; see `dwe runs --help`" });
  });

  it("a pipeline's problems with --json are JSON lines on stderr, one per problem", () => {
    const file = join(w.dir, "bad.yaml");
    writeFileSync(file, "jobs:\n  a:\n    steps:\n      - run: echo ${{ nope.x }}\n    needs: [missing]\n");
    const r = cli(["pipeline", file, "--json"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    const lines = r.stderr.trim().split("\n");
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      const { error } = JSON.parse(line) as { error: { code: string; message: string } };
      expect(error.code).toBe("invalid_pipeline");
      expect(error.message).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:\\d+:\\d+: `));
    }
  });

  it("commander's own errors are one dwe: line naming the help to read", () => {
    const missing = cli(["run"]);
    expect(missing.code).toBe(2);
    expect(oneLine(missing.stderr)).toBe("dwe: error: missing required argument 'module'; see `dwe run --help`");
    expect(oneLine(cli(["schedule", "add", "x", example("hello")]).stderr)).toBe(
      "dwe: error: required option '--cron <expr>' not specified; see `dwe schedule add --help`",
    );
    expect(oneLine(cli(["frobnicate"]).stderr)).toMatch(/^dwe: error: unknown command 'frobnicate'; see `dwe --help`$/);
  });

  it("bad files and names get one line that says what is wrong", () => {
    const dir = cli(["run", w.dir]);
    expect(dir.code).toBe(2);
    expect(oneLine(dir.stderr)).toBe(
      `dwe: error: cannot read module '${w.dir}': it is a directory, not a file; give the .wasm file in it (e.g. DIR/build/NAME.wasm)`,
    );
    const out = cli(["export", "done", "-o", "/nonexistent/x.dwe"]);
    expect(out.code).toBe(2);
    expect(oneLine(out.stderr)).toBe(
      "dwe: error: cannot write -o /nonexistent/x.dwe: the directory /nonexistent does not exist; pass a file path in an existing, writable directory",
    );
    const text = cli(["import", join(ROOT, "README.md")]);
    expect(text.code).toBe(2);
    expect(oneLine(text.stderr)).toBe(
      `dwe: error: ${join(ROOT, "README.md")} is not a dwe run file (made by \`dwe export\`); nothing was imported`,
    );
    const name = cli(["schedule", "add", "bad name!", "--cron", "* * * * *", example("hello")]);
    expect(name.code).toBe(2);
    expect(oneLine(name.stderr)).toMatch(/^dwe: error: bad schedule name 'bad name!': use 1-100 letters/);
  });

  it("dwe export into a pipe that closes early ends quietly", () => {
    const big = join(w.dir, "big.txt");
    writeFileSync(big, "x".repeat(4 * 1024 * 1024));
    expect(cli(["start", example("hello"), "--id", "big", "--input", `@${big}`]).code).toBe(0);
    const errFile = join(w.dir, "export-err.txt");
    const r = spawnSync("sh", ["-c", `"${process.execPath}" "${DWE}" --db "${w.db}" export big 2>"${errFile}" | head -c 10 >/dev/null`], {
      cwd: w.dir,
    });
    expect(r.status).toBe(0);
    expect(readFileSync(errFile, "utf8")).toBe("");
  });

  it("hints name commands that work: a completed run's id, a run waiting on a signal, verify of a cancelled run", () => {
    const again = cli(["run", example("hello"), "--id", "done"]);
    expect(again.code).toBe(2);
    expect(oneLine(again.stderr)).toBe(
      "dwe: error: a run with id 'done' already exists and has completed; pick another --id (see it with `dwe show done`)",
    );
    const waits = cli(["run", example("worker"), "--id", "w1", "--entry", "signals", "--input", '{"name":"go"}']);
    expect(waits.code).toBe(75);
    // Waiting on a signal, a resume would only wait again: the hint names what moves the run on.
    expect(waits.stderr).toMatch(/suspended until a signal or a child run; `dwe show w1` says which, `dwe signal w1 NAME` sends a signal/);
    expect(cli(["cancel", "w1"]).code).toBe(0);
    const verify = cli(["verify", "w1"]);
    expect(verify.stdout + verify.stderr).not.toContain("dwe resume");
    expect(cli(["resume", "w1"]).code).not.toBe(0);
  });

  it("dwe runs on a database that does not exist yet prints an empty list and creates nothing", () => {
    const db = join(w.dir, "none", "dwe.db");
    const json = cli(["runs", "--json"], db);
    expect(json.code).toBe(0);
    expect(json.stdout).toBe("[]\n");
    const text = cli(["runs"], db);
    expect(text.stdout).toMatch(/^ID\s+STATUS\s+NAME/);
    expect(text.stdout.trim().split("\n")).toHaveLength(1);
    expect(existsSync(db)).toBe(false);
    expect(cli(["runs", "--status", "nope"], db).code).toBe(2);
  });

  it("--allow-shell before the module path is a bare grant; --allow-shell=LIST anywhere; else the error says what happened", () => {
    const bare = cli(["run", "--allow-shell", example("hello"), "--id", "sh1"]);
    expect(bare.code, bare.stderr).toBe(0);
    expect((JSON.parse(cli(["show", "sh1", "--json"]).stdout) as { grants: { shell: unknown } }).grants.shell).toBe(true);
    const list = cli(["run", "--allow-shell=sh", example("hello"), "--id", "sh2"]);
    expect(list.code, list.stderr).toBe(0);
    const shell = (JSON.parse(cli(["show", "sh2", "--json"]).stdout) as { grants: { shell: { name: string }[] } }).grants.shell;
    expect(shell.map((p) => p.name)).toEqual(["sh"]);
    const resume = cli(["resume", "--allow-shell", "sh1"]);
    expect(resume.code).toBe(2);
    expect(oneLine(resume.stderr)).toBe(
      "dwe: error: missing required argument 'run' (--allow-shell took 'sh1' as its program list: write --allow-shell=PROGRAMS, " +
        "or put --allow-shell after the arguments); see `dwe resume --help`",
    );
  });

  it("an SDK call at the top level of an AssemblyScript module is named as such", async () => {
    const out = join(w.dir, "as");
    mkdirSync(out, { recursive: true });
    const wasm = await compileAs("test/fixtures/as-top-level/index.ts", out);
    const r = cli(["run", wasm, "--id", "top"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("called dwe while it was being instantiated, before its entry point ran");
    expect(r.stderr).not.toContain("does not export its memory");
  });
});
