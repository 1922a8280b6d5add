// examples/library-service: dwe embedded in a Node HTTP service, run as a real process on 127.0.0.1;
// each request starts a durable run and answers with its result, which the CLI then sees too.
import { afterEach, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { ROOT, dweAsync, exited, workdir } from "./support/cli.js";

describe("examples/library-service", () => {
  let child: ChildProcess | null = null;
  let w: ReturnType<typeof workdir>;
  afterEach(async () => {
    if (child && child.exitCode === null) {
      child.kill("SIGKILL");
      await exited(child);
    }
    w?.cleanup();
  });

  it("starts a workflow per request, answers with its result, and keeps the run in the database", async () => {
    w = workdir("dwe-library-service-");
    child = spawn(process.execPath, [join(ROOT, "examples", "library-service", "server.mjs"), "--db", w.db, "--port", "0"], {
      cwd: w.dir,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
    const base = await new Promise<string>((resolve, reject) => {
      let out = "";
      child!.stdout!.on("data", (c: Buffer) => {
        out += c.toString();
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child!.on("exit", (code) => reject(new Error(`server exited with ${code}: ${stderr}`)));
    });

    const answers = await Promise.all(
      ["ana", "bo", "cy"].map(async (name) => {
        const res = await fetch(`${base}/greet`, { method: "POST", body: JSON.stringify({ name }) });
        expect(res.status).toBe(200);
        return (await res.json()) as { id: string; result: { greeting: string } };
      }),
    );
    expect(answers.map((a) => a.result.greeting)).toEqual(["hello, ana", "hello, bo", "hello, cy"]);
    expect(new Set(answers.map((a) => a.id)).size).toBe(3);

    const again = (await (await fetch(`${base}/runs/${answers[0]!.id}`)).json()) as { status: string; result: unknown };
    expect(again).toEqual({ id: answers[0]!.id, status: "completed", result: { greeting: "hello, ana" } });
    const bad = await fetch(`${base}/greet`, { method: "POST", body: "{not json" });
    expect(bad.status).toBe(400);
    expect((await fetch(`${base}/runs/nope`)).status).toBe(404);

    // A clean stop closes the database; the CLI reads the same runs.
    child.kill("SIGTERM");
    expect((await exited(child)).code).toBe(0);
    const shown = await dweAsync(["show", answers[1]!.id, "--json"], { cwd: w.dir, db: w.db });
    expect((JSON.parse(shown.stdout) as { status: string; output: unknown }).output).toEqual({ greeting: "hello, bo" });
  });
});
