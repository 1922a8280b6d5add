// Finding runs (issue 14 §3): a run is named by its module's file name (or --name), and `dwe runs`
// filters, pages with --after, and shows each run's error and wake time.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dwe, example, workdir } from "./support/cli.js";

interface Listed {
  id: string;
  name: string | null;
  status: string;
}

describe("dwe runs: names, filters, pages", () => {
  const w = workdir("dwe-runs-");
  const cli = (args: string[]) => dwe(args, { cwd: w.dir, db: w.db });
  const ids = (args: string[]) => {
    const r = cli(["runs", "--json", ...args]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    return (JSON.parse(r.stdout) as Listed[]).map((x) => x.id);
  };
  let helloSha = "";

  beforeAll(() => {
    expect(cli(["run", example("hello"), "--id", "h1", "--input", '{"name":"a"}']).code).toBe(0);
    expect(cli(["run", example("hello"), "--id", "h2", "--name", "greeter"]).code).toBe(0);
    expect(cli(["run", example("worker"), "--id", "bad", "--entry", "steps", "--input", "[]"]).code).toBe(1);
    const waits = cli(["run", example("worker"), "--id", "waits", "--entry", "signals", "--input", '{"name":"go","timeout_ms":600000}']);
    expect(waits.code, waits.stderr).toBe(75);
    helloSha = (JSON.parse(cli(["show", "h1", "--json"]).stdout) as { module: string }).module;
  });
  afterAll(() => w.cleanup());

  it("names each run by its module's file name or --name, in dwe runs, dwe show and --json", () => {
    const r = cli(["runs"]);
    expect(r.code).toBe(0);
    const row = (id: string) => r.stdout.split("\n").find((l) => l.startsWith(`${id} `)) ?? "";
    expect(row("h1")).toMatch(/^h1\s+completed\s+hello\.wasm\s/);
    expect(row("h2")).toMatch(/^h2\s+completed\s+greeter\s/);
    expect(r.stdout).not.toContain(helloSha.slice(0, 12));
    expect(cli(["show", "h1"]).stdout).toContain(`module    hello.wasm (sha256 ${helloSha}, entry run)`);
    const shown = JSON.parse(cli(["show", "h2", "--json"]).stdout) as Listed;
    expect(shown.name).toBe("greeter");
  });

  it("shows a failed run's error and a suspended run's wake time", () => {
    const lines = cli(["runs"]).stdout.split("\n");
    expect(lines[0]).toMatch(/^ID\s+STATUS\s+NAME\s+CREATED\s+FINISHED\s+WAKES\s+ERROR$/);
    expect(lines.find((l) => l.startsWith("bad "))).toMatch(/failed\s+worker\.wasm\s.*\sinvalid_input: input must be a JSON object$/);
    expect(lines.find((l) => l.startsWith("waits "))).toMatch(/suspended\s+worker\.wasm\s+\S+\s+-\s+\d{4}-\d\d-\d\dT[\d:.]+Z\s+-$/);
  });

  it("filters by status, name, module, entry and time", () => {
    expect(ids([])).toEqual(["waits", "bad", "h2", "h1"]);
    expect(ids(["--name", "hello.wasm"])).toEqual(["h1"]);
    expect(ids(["--name", "greeter"])).toEqual(["h2"]);
    expect(ids(["--module", helloSha.slice(0, 8)])).toEqual(["h2", "h1"]);
    expect(ids(["--status", "failed,suspended"])).toEqual(["waits", "bad"]);
    expect(ids(["--entry", "signals"])).toEqual(["waits"]);
    expect(ids(["--created-after", "1h"])).toEqual(["waits", "bad", "h2", "h1"]);
    expect(ids(["--created-before", "2020-01-01"])).toEqual([]);
    expect(ids(["--finished-after", "1h", "--status", "completed"])).toEqual(["h2", "h1"]);
    expect(ids(["--finished-before", "2020-01-01T00:00:00Z"])).toEqual([]);
  });

  it("pages with --after and says on stderr when more runs exist", () => {
    const first = cli(["runs", "--json", "--limit", "2"]);
    expect((JSON.parse(first.stdout) as Listed[]).map((x) => x.id)).toEqual(["waits", "bad"]);
    expect(first.stderr).toBe("dwe: more runs exist; the next page: the same `dwe runs` with --after bad\n");
    expect(ids(["--limit", "2", "--after", "bad"])).toEqual(["h2", "h1"]);
    expect(cli(["runs", "--limit", "3"]).stderr).toContain("--after h2");
  });

  it("refuses a bad filter with one line naming the flag", () => {
    for (const [args, msg] of [
      [["--status", "done"], "bad --status 'done'"],
      [["--created-after", "yesterday"], "bad --created-after 'yesterday'"],
      [["--after", "nope"], "bad --after 'nope': no run with that id"],
      [["--module", "hello.wasm"], "bad --module 'hello.wasm'"],
      [["--limit", "0"], "bad --limit '0'"],
    ] as const) {
      const r = cli(["runs", ...args]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toContain(msg);
    }
  });
});
