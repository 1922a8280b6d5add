// Runs the fast-check properties of test/fuzz/host-decoding.mjs (random bytes and pointers at every
// host function's decoding) in a plain Node process against the compiled engine; see that file.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./support/cli.js";

describe("host decoding under random input (fast-check)", () => {
  it("every host function answers or fails the run with a typed error, whatever the bytes and pointers", () => {
    const r = spawnSync(process.execPath, [join(ROOT, "test", "fuzz", "host-decoding.mjs"), "300"], { encoding: "utf8", timeout: 110_000 });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const summary = JSON.parse(r.stdout) as { properties: number; runs: number; outcomes: Record<string, number> };
    expect(summary.properties).toBe(3);
    // The inputs reach past the pointer checks into request decoding and the operations themselves.
    expect(summary.outcomes.abi_violation).toBeGreaterThan(0);
    expect(summary.outcomes.bad_request).toBeGreaterThan(0);
    expect(summary.outcomes.reply).toBeGreaterThan(0);
  });
});
