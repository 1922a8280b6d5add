// `dwe fork` (issue 14 §2): a new run from a copy of a run's first journal entries replays them and
// performs only what comes after the cut, live: checked with the real CLI, a real SQLite file, a
// real HTTP server on 127.0.0.1 counting requests and the effects example's real file appends.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { dweAsync, example, workdir } from "./support/cli.js";
import { effectsRunFlags } from "./support/effects-run.js";

const posts: string[] = [];
let server: Server;
let url = "";
const w = workdir("dwe-fork-");
const opts = { cwd: w.dir, db: w.db };

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      posts.push(body);
      res.end("ok");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/step`;
  mkdirSync(join(w.dir, "files"));
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  w.cleanup();
});

interface Shown {
  id: string;
  status: string;
  output: unknown;
  forked_from?: { run: string; seq: number };
  journal: { entries: number; byOp: Record<string, number> };
}
const show = async (id: string) => JSON.parse((await dweAsync(["show", id, "--json"], opts)).stdout) as Shown;

describe("dwe fork", () => {
  it("replays the copied entries and performs only the steps after the cut, live; the source is untouched", async () => {
    const src = await dweAsync(["run", example("effects"), ...effectsRunFlags("src", { n: 3, file: "log.txt", url })], opts);
    expect(src.code, src.stderr).toBe(0);
    expect(posts).toEqual(["0", "1", "2"]);
    const source = await show("src");
    const perStep = (source.journal.entries - 1) / 3; // the same calls each step, then run.output
    expect(Number.isInteger(perStep)).toBe(true);

    // Cut after the first step: steps 1 and 2 are performed again by the fork, step 0 is not.
    const at = perStep;
    const fork = await dweAsync(["fork", "src", "--at", String(at), "--id", "f1", "--json"], opts);
    expect(fork.code, fork.stderr).toBe(0);
    expect(JSON.parse(fork.stdout)).toMatchObject({
      id: "f1",
      status: "completed",
      output: { steps: 3 },
      forked_from: { run: "src", seq: at },
    });
    expect(posts).toEqual(["0", "1", "2", "1", "2"]);
    expect(readFileSync(join(w.dir, "files", "log.txt"), "utf8")).toBe("0\n1\n2\n1\n2\n");
    const logs = await dweAsync(["logs", "f1"], opts);
    expect(logs.stdout + logs.stderr).toMatch(/step 0\n[\s\S]*step 1\n[\s\S]*step 2\n/);
    expect((await show("f1")).journal.entries).toBe(source.journal.entries);
    expect(await show("src")).toEqual(source);
    const text = await dweAsync(["show", "f1"], opts);
    expect(text.stdout).toContain(`forked    from src at seq ${at}`);

    // By default every complete entry is copied: nothing is performed again.
    const all = await dweAsync(["fork", "src", "--id", "f2", "--json"], opts);
    expect(all.code, all.stderr).toBe(0);
    expect(JSON.parse(all.stdout)).toMatchObject({ status: "completed", forked_from: { run: "src", seq: source.journal.entries } });
    expect(posts).toHaveLength(5);

    // --detach leaves the fork to a worker: pending, nothing performed yet.
    const detached = await dweAsync(["fork", "src", "--at", "0", "--id", "f3", "--detach", "--json"], opts);
    expect(detached.code, detached.stderr).toBe(0);
    expect(JSON.parse(detached.stdout)).toMatchObject({ id: "f3", status: "pending", forked_from: { run: "src", seq: 0 } });
    expect(posts).toHaveLength(5);
  });

  it("refuses what it cannot do with one dwe: line and a non-zero exit, writing nothing", async () => {
    const before = (await dweAsync(["runs", "--json"], opts)).stdout;
    const cases: [string[], RegExp][] = [
      [["fork", "nope"], /^dwe: error: .*nope.*\n$/],
      [["fork", "src", "--at", "999"], /^dwe: error: bad --at '999': run src has \d+ complete journal entries; fork at 0…\d+\n$/],
      [["fork", "src", "--at", "-1"], /^dwe: error: bad --at '-1': expected a journal seq/],
      [["fork", "src", "--id", "src"], /^dwe: error: .*'src' already exists/],
      [["fork", "src", "--id", "bad id!"], /^dwe: error: .*bad id!/],
    ];
    for (const [args, message] of cases) {
      const r = await dweAsync(args, opts);
      expect(r.code, args.join(" ")).not.toBe(0);
      expect(r.stderr, args.join(" ")).toMatch(message);
    }
    expect((await dweAsync(["runs", "--json"], opts)).stdout).toBe(before);
  });
});
