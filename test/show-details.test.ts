// `dwe show RUN` says everything `dwe show --json` has: the args, env and limits a run was started
// with, what a suspended run waits for (a signal by name, a child by id, a time), that a run was
// upgraded and from which module, and a running run whose owner is dead. Real CLI processes on a
// real SQLite file; the store part (upgrades) is in the store conformance test, on PostgreSQL too.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { dwe, example, exited, spawnDwe, workdir } from "./support/cli.js";
import { opGuest, opsGuest } from "./support/op-guest.js";
import { compileAs } from "./support/assemblyscript.js";
import { waitFor } from "./support/worker.js";
import { startServer } from "./support/dwe-server.js";

interface Shown {
  status: string;
  module: string;
  args: string[];
  env: Record<string, string>;
  timeout_ms: number | null;
  max_memory_bytes: number | null;
  max_journal_entries: number | null;
  max_journal_bytes: number | null;
  child_limits: { children: number; descendants: number; depth: number } | null;
  upgrades: { number: number; at: string; from_module: string; to_module: string; attempt: number | null }[];
  waiting_for: Record<string, unknown> | null;
  owner: { id: string; lease_expires_at: string | null; state: string } | null;
}

describe("dwe show", () => {
  const w = workdir("dwe-show-");
  const cli = (args: string[]) => dwe(args, { cwd: w.dir, db: w.db });
  const shown = (id: string) => JSON.parse(cli(["show", id, "--json"]).stdout) as Shown;
  const text = (id: string) => {
    const r = cli(["show", id]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    return r.stdout;
  };
  afterAll(() => w.cleanup());

  it("prints the args, env and limits the run was started with, as --json has them", () => {
    const r = cli([
      "run",
      example("hello"),
      "--id",
      "cfg",
      "--env",
      "GREETING=hi there",
      "--timeout",
      "30000",
      "--max-journal-entries",
      "500",
      "--max-journal-bytes",
      "2M",
      "--max-children",
      "3",
      "--",
      "one",
      "two words",
    ]);
    expect(r.code).toBe(0);
    const j = shown("cfg");
    expect(j).toMatchObject({
      args: ["one", "two words"],
      env: { GREETING: "hi there" },
      timeout_ms: 30000,
      max_memory_bytes: null,
      max_journal_entries: 500,
      max_journal_bytes: 2 * 1024 * 1024,
      upgrades: [],
      waiting_for: null,
      owner: null,
    });
    expect(j.child_limits).toMatchObject({ children: 3 });
    const t = text("cfg");
    expect(t).toContain("args      one 'two words'");
    expect(t).toContain("env       'GREETING=hi there'");
    expect(t).toMatch(/^limits {4}timeout 30000 ms; memory 268435456 bytes \(default\); journal 500 entries, 2097152 bytes; children 3, /m);
    expect(t).not.toMatch(/^(waiting|owner|upgraded) /m);
    // A run started without limits: each shown with its default.
    expect(cli(["run", example("hello"), "--id", "plain"]).code).toBe(0);
    expect(shown("plain")).toMatchObject({ timeout_ms: null, max_journal_entries: null, max_journal_bytes: null, child_limits: null });
    expect(text("plain")).toMatch(
      /^limits {4}timeout none; memory 268435456 bytes \(default\); journal 1000000 entries \(default\), 1073741824 bytes \(default\); children 256, descendants 4096, depth 16 \(default\)$/m,
    );
    expect(text("plain")).toMatch(/^args {6}\(none\)$/m);
  });

  it("says which signal a suspended run waits for, and how to send it", () => {
    const mod = opGuest(w.dir, "approver", "signal.wait", { name: "approve" });
    expect(cli(["run", mod, "--id", "sig"]).code).toBe(75);
    expect(shown("sig").waiting_for).toEqual({ kind: "signal", seq: 1, signal: "approve", until: null });
    expect(text("sig")).toMatch(/^waiting {3}for signal 'approve' \(seq 1\); send it with `dwe signal sig approve \[--data JSON\]`$/m);
    // With a time limit, until when.
    const timed = opGuest(w.dir, "approver-timed", "signal.wait", { name: "approve", timeout_ms: 3_600_000 });
    expect(cli(["run", timed, "--id", "sig-timed"]).code).toBe(75);
    const until = shown("sig-timed").waiting_for!.until as string;
    expect(Date.parse(until)).toBeGreaterThan(Date.now() + 3_000_000);
    expect(text("sig-timed")).toContain(`for signal 'approve' (seq 1, until ${until})`);
    // Once the signal arrives and the run ends, it waits for nothing.
    expect(cli(["signal", "sig", "approve"]).code).toBe(0);
    expect(cli(["resume", "sig"]).code).toBe(0);
    expect(shown("sig").waiting_for).toBeNull();
  });

  it("says which time a sleeping run waits for", () => {
    const mod = opGuest(w.dir, "sleeper", "sleep", { ms: 3_600_000 });
    expect(cli(["run", mod, "--id", "nap"]).code).toBe(75);
    const j = shown("nap") as Shown & { wake_at: string };
    expect(j.waiting_for).toEqual({ kind: "time", seq: 1, op: "sleep", until: j.wake_at });
    expect(text("nap")).toContain(`waiting   until ${j.wake_at} (sleep, seq 1)`);
  });

  it("says which child run a suspended parent waits for", () => {
    const child = opGuest(w.dir, "child-waits", "signal.wait", { name: "never" });
    expect(cli(["run", child, "--id", "c0"]).code).toBe(75); // stores the child's module
    const childModule = shown("c0").module;
    const parent = opsGuest(w.dir, "parent", [
      { op: "child.start", request: { module: childModule, entry: "run", input: new Uint8Array() } },
      { op: "child.join", request: { id: "par.1" } },
    ]);
    expect(cli(["run", parent, "--id", "par"]).code).toBe(75);
    expect(shown("par").waiting_for).toEqual({ kind: "child", seq: 2, runs: ["par.1"], until: null });
    expect(text("par")).toMatch(/^waiting {3}for child run par\.1 to end \(seq 2\)$/m);
    expect(shown("par.1").waiting_for).toMatchObject({ kind: "signal", signal: "never" });
  });

  it("says a running run's owner is dead once its process is gone (SIGKILL), and how to take the run over", async () => {
    const mod = opGuest(w.dir, "long-nap", "sleep", { ms: 3_600_000 });
    // Waited in memory (not suspended), so the run stays running under this process's lease.
    const p = spawnDwe(["run", mod, "--id", "held", "--suspend-after", "7200000"], { cwd: w.dir, db: w.db });
    await waitFor("the sleep's intent", () => {
      const r = cli(["show", "held", "--json"]); // not found until the run is created
      const j = r.code === 0 && (JSON.parse(r.stdout) as Shown & { journal: { intents: number } });
      return j && j.status === "running" && j.journal.intents === 1;
    });
    const live = shown("held");
    expect(live.owner).toMatchObject({ id: expect.stringContaining(`:${p.pid}:`) as string, state: "live" });
    expect(text("held")).toMatch(new RegExp(`^owner {5}\\S+:${p.pid}:\\S+ \\(lease until \\S+\\)$`, "m"));
    p.kill("SIGKILL");
    await exited(p);
    const dead = shown("held");
    expect(dead.status).toBe("running");
    expect(dead.owner).toEqual({ ...live.owner, state: "dead" });
    expect(text("held")).toMatch(/^owner {5}\S+ \(DEAD: its process is gone\); `dwe resume held` or a worker takes the run over$/m);
  });

  describe("after resume --upgrade", () => {
    const mod: Record<string, string> = {};
    beforeAll(async () => {
      for (const name of ["sleepy-a", "sleepy-a2"]) mod[name] = await compileAs(`test/fixtures/core/${name}.ts`, join(w.dir, "build"));
    });

    it("says the run was upgraded, when, and from which module, in text, --json and GET /api/runs/ID", async () => {
      expect(cli(["run", mod["sleepy-a"]!, "--id", "up", "--suspend-after", "100"]).code).toBe(75);
      const before = shown("up").module;
      expect(cli(["resume", "up", "--upgrade", mod["sleepy-a2"]!]).code).toBe(0);
      const after = shown("up");
      expect(after.module).not.toBe(before);
      expect(after.upgrades).toEqual([
        { number: 1, at: expect.any(String) as string, from_module: before, to_module: after.module, attempt: 2 },
      ]);
      expect(text("up")).toContain(`upgraded  ${after.upgrades[0]!.at} from sha256 ${before} to ${after.module} (attempt 2)`);
      const server = await startServer(w, []);
      try {
        const res = await fetch(`${server.url}/api/runs/up`);
        expect(res.status).toBe(200);
        const body = (await res.json()) as Shown;
        expect(body.upgrades).toEqual(after.upgrades);
        expect(body).toMatchObject({ waiting_for: null, owner: null, max_journal_entries: null });
      } finally {
        server.child.kill("SIGTERM");
        await exited(server.child);
      }
    });
  });
});
