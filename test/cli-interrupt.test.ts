// Ctrl-C (SIGINT) and SIGTERM on `dwe run` and `dwe resume`: the run stops at its next host call,
// dwe says what became of it and how to stop it for good, and exits 130 or 143; a second signal
// exits at once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChildProcess } from "node:child_process";
import { exited, spawnDwe, workdir } from "./support/cli.js";
import { abiGuest } from "./support/guest-wat.js";
import { runIn, waitFor } from "./support/worker.js";

/** The child's stderr so far, collected as it comes. */
function stderrOf(child: ChildProcess): () => string {
  let text = "";
  child.stderr!.on("data", (c: Buffer) => (text += c.toString()));
  return () => text;
}

describe("Ctrl-C on dwe run", () => {
  const w = workdir();
  let sleeper: string;
  beforeAll(() => {
    // Logs "sleeping", then sleeps a minute: in memory, with --suspend-after above it.
    sleeper = abiGuest(w.dir, "sleeper", {
      data: { 0: "log", 16: "sleep", 48: "\\81\\a7message\\a8sleeping", 80: "\\81\\a2ms\\cd\\ea\\60" },
      body: `(drop (call $call (i32.const 0) (i32.const 3) (i32.const 48) (i32.const 18)))
             (drop (call $call (i32.const 16) (i32.const 5) (i32.const 80) (i32.const 7)))`,
    });
  });
  afterAll(() => w.cleanup());

  it("SIGINT while the guest sleeps leaves the run pending, says how to continue or cancel it, and exits 130", async () => {
    const child = spawnDwe(["run", sleeper, "--id", "nap", "--suspend-after", "600000"], { cwd: w.dir, db: w.db });
    const stderr = stderrOf(child);
    await waitFor("the guest to sleep", () => stderr().includes("sleeping\n"));
    child.kill("SIGINT");
    expect(await exited(child), stderr()).toEqual({ code: 130, signal: null });
    expect(stderr()).toContain("dwe: SIGINT: stopping run nap at its next host call (Ctrl-C again exits at once)\n");
    expect(stderr()).toContain(
      "dwe: run nap left pending: `dwe worker` will continue it, or `dwe resume nap`; to stop it for good: `dwe cancel nap`\n",
    );
    expect(runIn(w.db, "nap").status).toBe("pending");

    // dwe resume is stopped the same way; SIGTERM exits 143.
    const resumed = spawnDwe(["resume", "nap", "--suspend-after", "600000"], { cwd: w.dir, db: w.db });
    const again = stderrOf(resumed);
    await waitFor("the resumed run to take the lease", () => runIn(w.db, "nap").status === "running");
    resumed.kill("SIGTERM");
    expect(await exited(resumed), again()).toEqual({ code: 143, signal: null });
    expect(again()).toContain("dwe: run nap left pending: `dwe worker` will continue it, or `dwe resume nap`");
    expect(runIn(w.db, "nap").status).toBe("pending");
  });

  it("a second Ctrl-C exits 130 at once while the guest is busy in its own code; the run stays resumable", async () => {
    // Logs "spinning", sleeps 1 ms (which commits the log), then loops without host calls: with
    // --timeout it executes in a thread, and the first Ctrl-C cannot stop it before a host call.
    const spin = abiGuest(w.dir, "spin", {
      data: { 0: "log", 16: "sleep", 48: "\\81\\a7message\\a8spinning", 80: "\\81\\a2ms\\01" },
      body: `(drop (call $call (i32.const 0) (i32.const 3) (i32.const 48) (i32.const 18)))
             (drop (call $call (i32.const 16) (i32.const 5) (i32.const 80) (i32.const 5)))
             (loop $forever (br $forever))`,
    });
    const child = spawnDwe(["run", spin, "--id", "spin", "--timeout", "600000"], { cwd: w.dir, db: w.db });
    const stderr = stderrOf(child);
    await waitFor("the guest to spin", () => stderr().includes("spinning\n"));
    child.kill("SIGINT");
    await waitFor("the first Ctrl-C to be told", () => stderr().includes("stopping run spin"));
    child.kill("SIGINT");
    expect(await exited(child), stderr()).toEqual({ code: 130, signal: null });
    expect(stderr()).toContain(
      "dwe: SIGINT again: exiting now; run spin stays resumable (`dwe resume spin`, or `dwe cancel spin` to stop it for good)\n",
    );
    expect(runIn(w.db, "spin").status, JSON.stringify(runIn(w.db, "spin"))).toBe("running"); // its owner is gone: `dwe resume` takes it over at once
  });
});
