// `dwe pipeline FILE.yaml`: YAML graphs of shell steps run by the pipeline workflow, end to end
// through the real CLI: parallel jobs, outputs, failure handling, SIGKILL and resume, a pinned
// definition, validation errors, `dwe worker`, and the two examples in examples/pipelines.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { ROOT, dweAsync, exited, spawnDwe, workdir } from "./support/cli.js";
import { runIn, startWorker, waitFor, type WorkerProcess } from "./support/worker.js";

// Every step of the test pipelines runs this: it records when it started (with its idempotency
// key) and ended, sleeps, and exits with the code asked for.
const STEP_SH = `#!/bin/sh
name=$1
echo "start|$name|$DWE_IDEMPOTENCY_KEY|$(date +%s%3N)" >> events.log
sleep "\${2:-0}"
echo "end|$name|$(date +%s%3N)" >> events.log
echo "did $name"
exit "\${3:-0}"
`;

interface StepEvent {
  kind: "start" | "end";
  name: string;
  key: string;
  at: number;
}

function events(dir: string): StepEvent[] {
  const file = join(dir, "events.log");
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      const [kind, name, a, b] = l.split("|");
      return kind === "start"
        ? { kind: "start", name: name!, key: a!, at: Number(b) }
        : { kind: "end", name: name!, key: "", at: Number(a) };
    });
}

/** The pipeline's result: the last line of dwe's stdout (the steps' own stdout comes before it). */
function result<T>(stdout: string): T {
  return JSON.parse(stdout.trimEnd().split("\n").pop()!) as T;
}

const starts = (ev: StepEvent[], name: string) => ev.filter((e) => e.kind === "start" && e.name === name);
const ended = (ev: StepEvent[], name: string) => ev.find((e) => e.kind === "end" && e.name === name);

/** The example, with small scripts (`lint` added to run in parallel with `test`). */
const CI_YAML = `name: ci
env: { CI: "1" }
jobs:
  test:
    steps:
      - name: unit
        run: ./step.sh unit 2
        retry: { attempts: 3, backoff: 2s }
        timeout: 10m
  lint:
    steps:
      - run: ./step.sh lint 2
  build:
    needs: [test, lint]
    steps:
      - id: version
        run: echo "tag=v1.2.$RANDOM" >> "$DWE_OUTPUT"
      - run: ./step.sh "make TAG=\${{ steps.version.outputs.tag }} CI=$CI"
    outputs: { tag: "\${{ steps.version.outputs.tag }}" }
  deploy:
    needs: [build]
    if: success()
    steps:
      - run: ./step.sh "deploy \${{ needs.build.outputs.tag }}"
      - run: ./notify.sh failed
        if: failure()
`;

describe("dwe pipeline", () => {
  let w: ReturnType<typeof workdir>;
  const workers: WorkerProcess[] = [];
  beforeEach(() => {
    w = workdir("dwe-pipeline-");
    writeFileSync(join(w.dir, "step.sh"), STEP_SH);
    chmodSync(join(w.dir, "step.sh"), 0o755);
  });
  afterEach(async () => {
    for (const p of workers.splice(0)) await p.stop("SIGKILL");
    w.cleanup();
  });
  const write = (name: string, text: string) => writeFileSync(join(w.dir, name), text);
  const here = () => ({ cwd: w.dir, db: w.db });
  const grants = () => ["--allow-shell", "--dir", w.dir];
  const pipeline = (file: string, ...args: string[]) => dweAsync(["pipeline", file, ...grants(), ...args], here());
  const show = async (id: string) =>
    JSON.parse((await dweAsync(["show", id, "--json"], here())).stdout) as {
      status: string;
      output: { result: string; jobs: Record<string, { result: string; outputs: Record<string, string> }> } | null;
      error: { code: string; message: string } | null;
      input: { jobs: { steps: { run: unknown[] }[] }[] };
      children: { id: string; status: string }[];
    };

  it("runs the issue's example: parallel jobs overlap, outputs flow step -> job -> needing job, failure() steps stay skipped", async () => {
    write("ci.yaml", CI_YAML);
    const r = await pipeline("ci.yaml", "--id", "ci-42");
    expect(r.stderr).not.toContain("error");
    expect(r.code).toBe(0);
    const out = result<{ result: string; jobs: Record<string, { result: string; outputs: Record<string, string> }> }>(r.stdout);
    expect(out.result).toBe("success");
    expect(Object.fromEntries(Object.entries(out.jobs).map(([k, v]) => [k, v.result]))).toEqual({
      test: "success",
      lint: "success",
      build: "success",
      deploy: "success",
    });
    const tag = out.jobs.build!.outputs.tag!;
    expect(tag).toMatch(/^v1\.2\.\d+$/);

    const ev = events(w.dir);
    // test and lint ran at the same time (so the two take the time of the longer, not the sum):
    // each started, by the scripts' own clock, before the other ended.
    const [unit, lint] = [starts(ev, "unit")[0]!, starts(ev, "lint")[0]!];
    expect(unit.at).toBeLessThan(ended(ev, "lint")!.at);
    expect(lint.at).toBeLessThan(ended(ev, "unit")!.at);
    // The step output reached a later step, the job's outputs and the job that needs it; env too.
    expect(starts(ev, `make TAG=${tag} CI=1`)).toHaveLength(1);
    expect(starts(ev, `deploy ${tag}`)).toHaveLength(1);
    expect(ended(ev, "lint")!.at).toBeLessThanOrEqual(starts(ev, `make TAG=${tag} CI=1`)[0]!.at);
    // Every step ran once, with its own idempotency key (<job run>:<seq>).
    const keys = ev.filter((e) => e.kind === "start").map((e) => e.key);
    expect(new Set(keys).size).toBe(keys.length);
    for (const k of keys) expect(k).toMatch(/^ci-42\.\d+:\d+$/);

    // Step output on dwe's stdout once per line, tagged with job and step; the steps' progress on
    // stderr; `dwe logs` shows the same per job.
    expect(r.stdout).toContain(`[deploy/1] did deploy ${tag}\n`);
    expect(r.stderr).toContain("[deploy/2] skipped");
    expect(r.stdout.split(`[build/2] did make TAG=${tag} CI=1`).length).toBe(2);
    expect(r.stderr).not.toContain("did make");
    const logs = (await dweAsync(["logs", "ci-42"], here())).stdout;
    expect(logs).toContain("job deploy succeeded");
    expect(logs).toContain("[test/unit] did unit");
    expect(logs).toMatch(/\[test\/unit\] exit 0 after \d+\.\d s/);
    expect(logs.indexOf("[build/version]")).toBeLessThan(logs.indexOf("[build/2]"));

    const run = await show("ci-42");
    expect(run.status).toBe("completed");
    expect(run.children.map((c) => c.status)).toEqual(["completed", "completed", "completed", "completed"]);
  });

  describe("live output", () => {
    // A step that prints a line, then waits (up to 20 s) for the test to say it saw that line on
    // dwe's stdout: it can only finish if its output was shown while it was still running.
    const waitForGo = (line: string, go: string) =>
      `echo "${line}"; echo "${line} (stderr)" >&2; for i in $(seq 1 200); do [ -e ${go} ] && break; sleep 0.1; done; [ -e ${go} ] || { echo "nobody saw it" >&2; exit 9; }; echo "after ${go}"`;
    /** Reads `child`'s stdout and stderr as they come. */
    const capture = (child: ReturnType<typeof spawnDwe>) => {
      const seen = { stdout: "", stderr: "" };
      child.stdout!.on("data", (c: Buffer) => (seen.stdout += c.toString()));
      child.stderr!.on("data", (c: Buffer) => (seen.stderr += c.toString()));
      return seen;
    };

    it("each step's output streams to dwe's stdout and stderr while it runs, every line tagged with its job and step when jobs run at once", async () => {
      write(
        "live.yaml",
        `jobs:
  a:
    steps:
      - name: talk
        run: '${waitForGo("a is running", "go")}'
  b:
    steps:
      - name: talk
        run: '${waitForGo("b is running", "go")}'
`,
      );
      const child = spawnDwe(["pipeline", "live.yaml", "--id", "live", ...grants()], here());
      const seen = capture(child);
      // Both jobs run at once, and each one's first line is on dwe's stdout before either ends.
      await waitFor(
        "both first lines",
        () => seen.stdout.includes("[a/talk] a is running\n") && seen.stdout.includes("[b/talk] b is running\n"),
        60_000,
        20,
      );
      expect(seen.stderr).toContain("[a/talk] a is running (stderr)\n");
      expect(seen.stdout).not.toContain("after go");
      write("go", "");
      expect((await exited(child)).code).toBe(0);
      // Shown once each, stdout lines on stdout and stderr lines on stderr, then the result.
      for (const j of ["a", "b"]) {
        expect(seen.stdout.split(`[${j}/talk] ${j} is running\n`)).toHaveLength(2);
        expect(seen.stdout.split(`[${j}/talk] after go\n`)).toHaveLength(2);
        expect(seen.stderr.split(`[${j}/talk] ${j} is running (stderr)\n`)).toHaveLength(2);
        expect(seen.stderr).not.toContain(`[${j}/talk] ${j} is running\n`);
      }
      expect(result<{ result: string }>(seen.stdout).result).toBe("success");
      // Still journaled: `dwe logs` has every line.
      const logs = (await dweAsync(["logs", "live"], here())).stdout;
      expect(logs).toContain("[a/talk] a is running\n[a/talk] after go\n");
      expect(logs).toContain("[b/talk] b is running (stderr)\n");
    });

    it("after SIGKILL, resume prints a finished step's output no more and the step in flight's once more (it runs again)", async () => {
      write(
        "resume.yaml",
        `jobs:
  j:
    steps:
      - name: one
        run: echo "one done"
      - name: two
        run: '${waitForGo("two is running", "go")}'
`,
      );
      const child = spawnDwe(["pipeline", "resume.yaml", "--id", "lr", ...grants()], here());
      const seen = capture(child);
      await waitFor("step two's first line", () => seen.stdout.includes("[j/two] two is running\n"), 60_000, 20);
      expect(seen.stdout.split("[j/one] one done\n")).toHaveLength(2);
      child.kill("SIGKILL");
      await exited(child);

      write("go", "");
      const r = await dweAsync(["resume", "lr"], here());
      expect(r.code).toBe(0);
      expect(r.stdout).not.toContain("one done");
      expect(r.stdout.split("[j/two] two is running\n")).toHaveLength(2);
      expect(r.stdout).toContain("[j/two] after go\n");
      // The journal holds each step's output once: the killed attempt of `two` left no result.
      const logs = (await dweAsync(["logs", "lr"], here())).stdout;
      expect(logs.split("[j/one] one done\n")).toHaveLength(2);
      expect(logs.split("[j/two] two is running\n")).toHaveLength(2);
    });

    it("--quiet shows no step output; --json keeps stdout for the run's JSON and shows step output on stderr", async () => {
      write("q.yaml", "jobs:\n  j:\n    steps:\n      - name: s\n        run: echo hello\n");
      const quiet = await pipeline("q.yaml", "--id", "q1", "--quiet");
      expect(quiet.code).toBe(0);
      expect(quiet.stdout + quiet.stderr).not.toContain("hello");
      const json = await pipeline("q.yaml", "--id", "q2", "--json");
      expect(json.code).toBe(0);
      expect((JSON.parse(json.stdout) as { status: string }).status).toBe("completed");
      expect(json.stderr.split("[j/s] hello\n")).toHaveLength(2);
    });
  });

  it("a failing step fails its job, runs its failure() steps, skips the jobs that need it, and the run fails naming job and step", async () => {
    write(
      "fail.yaml",
      `jobs:
  test:
    steps:
      - name: unit
        run: ./step.sh unit 0 3
        retry: { attempts: 2, backoff: 300ms }
      - name: after
        run: ./step.sh after
      - name: tell
        if: failure()
        run: ./step.sh tell
  lint:
    steps:
      - name: style
        run: ./step.sh style 0 4
        continue-on-error: true
      - name: still
        run: ./step.sh still
  build:
    needs: [test]
    steps: [{ run: ./step.sh build }]
  deploy:
    needs: [build]
    steps: [{ run: ./step.sh deploy }]
  cleanup:
    needs: [test]
    if: always()
    steps: [{ run: ./step.sh cleanup }]
  slow:
    continue-on-error: true
    steps:
      - name: hang
        run: exec sleep 5
        timeout: 500ms
  after-slow:
    needs: [slow]
    steps:
      - name: where
        working-directory: sub
        run: basename "$PWD" > ../where.txt
`,
    );
    mkdirSync(join(w.dir, "sub"));
    const r = await pipeline("fail.yaml", "--id", "f1");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "dwe: run f1 failed: pipeline_failed: job test failed: step 'unit' failed with exit code 3; skipped: build, deploy",
    );
    const ev = events(w.dir);
    expect(starts(ev, "unit")).toHaveLength(2); // retried once, after a 300 ms durable sleep
    expect(starts(ev, "after")).toHaveLength(0);
    expect(starts(ev, "tell")).toHaveLength(1);
    expect(starts(ev, "style")).toHaveLength(1);
    expect(starts(ev, "still")).toHaveLength(1); // continue-on-error
    expect(starts(ev, "build")).toHaveLength(0);
    expect(starts(ev, "deploy")).toHaveLength(0);
    expect(starts(ev, "cleanup")).toHaveLength(1);
    // A timed-out step fails its job; the job's continue-on-error lets the jobs that need it run.
    expect(readFileSync(join(w.dir, "where.txt"), "utf8")).toBe("sub\n");
    const logs = (await dweAsync(["logs", "f1"], here())).stdout;
    expect(logs).toContain("job build skipped: a job it needs did not succeed");
    expect(logs).toContain("job deploy skipped");
    expect(logs).toContain("[lint/style] failed, continuing (continue-on-error)");
    expect(logs).toContain("[test/unit] exit code 3 after");
    expect(logs).toContain("[slow/hang] timed out after 0.5 s");
    expect(logs).toMatch(/job slow failed \(continue-on-error\): step 'hang' failed: timed out after 0\.5 s/);
    const run = await show("f1");
    expect(run.status).toBe("failed");
    expect(run.error!.code).toBe("pipeline_failed");
  });

  it("an expression's value is never evaluated again; through env it is only data; put in run: it is shell text, as in GitHub Actions", async () => {
    write(
      "inject.yaml",
      `jobs:
  a:
    steps:
      - id: o
        run: printf 'v=x$(touch pwned-env) %s{{ env.X }}\\ncmd=$(touch pwned-run)\\n' '$' >> "$DWE_OUTPUT"
      - run: echo "$V" > seen.txt
        env: { V: "\${{ steps.o.outputs.v }}" }
      - run: echo \${{ steps.o.outputs.cmd }} > direct.txt
`,
    );
    const r = await pipeline("inject.yaml", "--id", "inj", "--env", "X=1");
    expect(r.stderr).not.toContain("error");
    expect(r.code).toBe(0);
    // Through env: the value arrives as it was written; nothing in it runs or is substituted.
    expect(readFileSync(join(w.dir, "seen.txt"), "utf8")).toBe("x$(touch pwned-env) ${{ env.X }}\n");
    expect(existsSync(join(w.dir, "pwned-env"))).toBe(false);
    // Substituted into run: the shell parses it, so $(…) runs (docs/pipelines.md: pass data through env).
    expect(readFileSync(join(w.dir, "direct.txt"), "utf8")).toBe("\n");
    expect(existsSync(join(w.dir, "pwned-run"))).toBe(true);
  });

  it("dwe cancel stops a pipeline under a worker: no later step starts, the run and its jobs end cancelled", async () => {
    write("long.yaml", "jobs:\n  long:\n    steps:\n      - run: ./step.sh long 3\n      - run: ./step.sh never\n");
    expect((await pipeline("long.yaml", "--id", "c1", "--detach")).code).toBe(0);
    workers.push(startWorker(w));
    await waitFor("long started", () => starts(events(w.dir), "long").length > 0, 60_000, 20);
    const c = await dweAsync(["cancel", "c1"], here());
    expect(c.code).toBe(0);
    await waitFor("cancelled", () => runIn(w.db, "c1").status === "cancelled" && runIn(w.db, "c1.1").status === "cancelled", 30_000);
    // Give a next step the time it would need to start (the step in flight had 3 s to run).
    await delay(3500);
    expect(starts(events(w.dir), "never")).toHaveLength(0);
  });

  describe("SIGKILL and resume", () => {
    const KILL_YAML = `jobs:
  a:
    steps:
      - run: ./step.sh a1 1
      - run: ./step.sh a2 1.5
  b:
    steps:
      - run: ./step.sh b1 1.5
  c:
    needs: [a, b]
    steps:
      - run: ./step.sh c1 1
      - run: ./step.sh c2 0.5
`;
    const ALL = ["a1", "a2", "b1", "c1", "c2"];
    // A step surely finished (its result journaled) once a step after it started: the next step
    // of its job, or the first of a job that needs it. A command that wrote its end but whose
    // result dwe had not committed yet was still in flight.
    const NEXT: Record<string, string[]> = { a1: ["a2"], a2: ["c1"], b1: ["c1"], c1: ["c2"], c2: [] };
    const finished = (ev: StepEvent[], name: string) => NEXT[name]!.some((n) => starts(ev, n).length > 0);

    for (const marker of ["start|a1", "start|a2", "start|c1", "end|c2"]) {
      it(`killed at '${marker}': resume finishes it; no finished step runs again, the one in flight at most once more with the same key`, async () => {
        write("kill.yaml", KILL_YAML);
        const child = spawnDwe(["pipeline", "kill.yaml", "--id", "k", ...grants()], here());
        await waitFor(
          marker,
          () => existsSync(join(w.dir, "events.log")) && readFileSync(join(w.dir, "events.log"), "utf8").includes(marker),
          60_000,
          20,
        );
        child.kill("SIGKILL");
        await exited(child);
        const atKill = events(w.dir);

        // After the last step's end the kill can land once the run's end was recorded: then there
        // is nothing to resume (resume refuses a completed run), and the checks below still hold.
        if ((await show("k")).status !== "completed") {
          const r = await dweAsync(["resume", "k"], here());
          expect(r.stderr).not.toContain("error");
          expect(r.code).toBe(0);
          expect(result<{ result: string }>(r.stdout).result).toBe("success");
        } else expect(marker).toBe("end|c2");

        const ev = events(w.dir);
        for (const name of ALL) {
          const s = starts(ev, name);
          expect(s.length, name).toBeGreaterThanOrEqual(1);
          if (finished(atKill, name)) expect(s.length, `${name} had finished before the kill`).toBe(1);
          else expect(s.length, `${name} was not finished at the kill`).toBeLessThanOrEqual(2);
          expect(new Set(s.map((e) => e.key)).size, `${name} keeps its idempotency key`).toBe(1);
        }
        const run = await show("k");
        expect(run.status).toBe("completed");
        expect(run.children.every((c) => c.status === "completed")).toBe(true);
        // Each step's output was printed once across the crash.
        const logs = (await dweAsync(["logs", "k"], here())).stdout;
        for (const name of ALL) expect(logs.split(`] did ${name}\n`).length, name).toBeLessThanOrEqual(3);
      });
    }

    it("an edited YAML does not change a started run: resume runs the definition pinned at the start", async () => {
      write("kill.yaml", KILL_YAML);
      const child = spawnDwe(["pipeline", "kill.yaml", "--id", "pinned", ...grants()], here());
      await waitFor("a1 started", () => existsSync(join(w.dir, "events.log")), 60_000, 20);
      child.kill("SIGKILL");
      await exited(child);
      write("kill.yaml", KILL_YAML.replaceAll("./step.sh c", "./step.sh edited-c").replace("b1 1.5", "b1-edited 0"));
      const r = await dweAsync(["resume", "pinned"], here());
      expect(r.code).toBe(0);
      const ev = events(w.dir);
      expect(ev.some((e) => e.name.startsWith("edited") || e.name === "b1-edited")).toBe(false);
      expect(starts(ev, "c2")).toHaveLength(1);
      expect(JSON.stringify((await show("pinned")).input)).toContain("./step.sh c2 0.5");
    });
  });

  it("the run's grants are all a pipeline gets: without --allow-shell, or with a list that lacks bash, the step is denied", async () => {
    write("ci.yaml", CI_YAML);
    const none = await dweAsync(["pipeline", "ci.yaml", "--id", "g1", "--dir", w.dir], here());
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("[test/unit] could not run: denied: running commands was not granted; run with --allow-shell");
    expect(none.stderr).toContain("job test failed: step 'unit' failed: denied");
    const list = await dweAsync(["pipeline", "ci.yaml", "--id", "g2", "--allow-shell", "sh", "--dir", w.dir], here());
    expect(list.code).toBe(1);
    expect(list.stderr).toContain("'bash' was not granted");
    expect(events(w.dir)).toEqual([]);
  });

  it("validation: every problem on its own line with line and column, exit 2, nothing written", async () => {
    write(
      "bad.yaml",
      `name: bad
jobs:
  a:
    needs: [c]
    steps:
      - run: echo \${{ steps.nope.outputs.x }}
        timeout: 10
      - step: x
        run: "true"
  b:
    needs: [a, zz]
    steps:
      - run: echo \${{ secrets.TOKEN }}
        retry: { attempts: 3, backoff: soon }
  c:
    needs: b
    steps: [{ run: "true", if: "\${{ needs.b.outputs.q == 'x' }}" }]
`,
    );
    const db = join(w.dir, "fresh.db");
    const r = await dweAsync(["pipeline", "bad.yaml", ...grants()], { cwd: w.dir, db });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toEqual([
      "dwe: error: bad.yaml:6:14: run of step 1 of job 'a': 'steps.nope.outputs.x': no step with id 'nope' before this one",
      "dwe: error: bad.yaml:7:18: timeout of step 1 of job 'a' must be a duration with a unit, such as 90s, 10m or 1h30m",
      "dwe: error: bad.yaml:8:9: unknown key 'step' in step 2 of job 'a' (allowed: name, id, run, shell, env, working-directory, timeout, retry, if, continue-on-error)",
      "dwe: error: bad.yaml:11:13: the needs of jobs form a cycle: a -> c -> b -> a",
      "dwe: error: bad.yaml:11:16: job 'b' needs 'zz', which is not a job here (jobs: a, b, c)",
      "dwe: error: bad.yaml:13:14: run of step 1 of job 'b': unknown name 'secrets.TOKEN': use steps.<id>.outputs.<name>, needs.<job>.outputs.<name>, env.<name> or inputs.<name>",
      "dwe: error: bad.yaml:14:40: retry backoff of step 1 of job 'b' 'soon' is not a duration: use a number and a unit (ms, s, m, h, d), such as 90s, 10m or 1h30m",
      "dwe: error: bad.yaml:17:32: if of step 1 of job 'c': 'needs.b.outputs.q': job 'b' declares no output 'q' under its `outputs:`",
    ]);
    expect(existsSync(db)).toBe(false);

    write("syntax.yaml", "jobs:\n  a:\n    steps: [{ run: x }\n");
    const s = await dweAsync(["pipeline", "syntax.yaml"], { cwd: w.dir, db });
    expect(s.code).toBe(2);
    expect(s.stderr).toMatch(/^dwe: error: syntax\.yaml:\d+:\d+: /);
    expect(existsSync(db)).toBe(false);
  });

  it("is executed by `dwe worker`: --detach prints the id, a worker runs the jobs and the run completes", async () => {
    write("ci.yaml", CI_YAML);
    const started = await pipeline("ci.yaml", "--id", "detached", "--detach");
    expect(started.code).toBe(0);
    expect(started.stdout.trim()).toBe("detached");
    expect(events(w.dir)).toEqual([]);
    workers.push(startWorker(w));
    await waitFor("pipeline completed", () => runIn(w.db, "detached").status === "completed", 90_000);
    const run = await show("detached");
    expect(run.output!.jobs.deploy!.result).toBe("success");
    const ev = events(w.dir);
    expect(starts(ev, `deploy ${run.output!.jobs.build!.outputs.tag}`)).toHaveLength(1);
    expect(starts(ev, "unit")[0]!.at).toBeLessThan(ended(ev, "lint")!.at);
  });

  describe("examples/pipelines", () => {
    it("build-test-deploy: lints and tests in parallel, builds a versioned package, deploys it once", async () => {
      cpSync(join(ROOT, "examples", "pipelines", "build-test-deploy"), w.dir, { recursive: true });
      const r = await pipeline("pipeline.yaml", "--id", "btd", "--input", '{"target": "staging"}');
      expect(r.stderr).not.toContain("error");
      expect(r.code).toBe(0);
      const out = result<{ jobs: Record<string, { result: string; outputs: Record<string, string> }> }>(r.stdout);
      expect(out.jobs.build!.outputs.tag).toMatch(/^1\.0\.\d{8}-7$/);
      expect(readFileSync(join(w.dir, "deploy", "staging", "greeter", "VERSION"), "utf8").trim()).toBe(out.jobs.build!.outputs.tag);
      expect(r.stderr).toContain("[deploy/roll back] skipped");

      const none = await pipeline("pipeline.yaml", "--id", "btd-none", "--input", '{"target": "none"}');
      expect(none.code).toBe(0);
      expect(result<{ jobs: Record<string, { result: string }> }>(none.stdout).jobs.deploy!.result).toBe("skipped");
    });

    it("nightly-data: a flaky source is retried with a durable backoff, totals load once per day, the report always runs", async () => {
      cpSync(join(ROOT, "examples", "pipelines", "nightly-data"), w.dir, { recursive: true });
      writeFileSync(join(w.dir, "source", "outage"), "2\n");
      const r = await pipeline("pipeline.yaml", "--id", "n1", "--input", '{"day": "2026-12-01"}');
      expect(r.stderr).not.toContain("error:");
      expect(r.code).toBe(0);
      expect(r.stderr).toContain('[extract/fetch] $ scripts/fetch.sh "source"   (attempt 3 of 4)');
      expect(r.stderr.match(/exit code 75 after/g)).toHaveLength(2);
      expect(readFileSync(join(w.dir, "warehouse", "totals.csv"), "utf8")).toBe(
        "2026-12-01,acme,150\n2026-12-01,globex,100\n2026-12-01,initech,5\n",
      );
      expect(readFileSync(join(w.dir, "reports", "2026-12-01.txt"), "utf8")).toBe("2026-12-01 rows=5 customers=3\n");

      const again = await pipeline("pipeline.yaml", "--id", "n2", "--input", '{"day": "2026-12-01"}');
      expect(again.code).toBe(0);
      expect(again.stdout).toContain("2026-12-01 already loaded");
      expect(readFileSync(join(w.dir, "warehouse", "totals.csv"), "utf8").split("\n")).toHaveLength(4);

      const missing = await pipeline("pipeline.yaml", "--id", "n3");
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain(`pipeline.yaml:11:3: input 'day' is required`);
    });
  });
});
