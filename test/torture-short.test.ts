// The crash-consistency torture (test/support/torture/, `npm run torture`) in a short form: a few
// runs of the effects examples, SIGKILLed at random moments and resumed until all complete; the
// script checks that no run is lost, each effect happened once (or repeated at most once per kill,
// with the same idempotency key), no journal has a gap, `dwe verify` passes and integrity_check is ok.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runScript } from "./support/cli.js";

describe("crash-consistency torture (short)", () => {
  it("random SIGKILLs and resumes lose nothing and repeat no finished effect", async () => {
    const seed = Math.floor(Math.random() * 2 ** 31);
    const args = ["--runs", "6", "--steps", "4", "--kills", "24", "--seed", String(seed)];
    const { code, stdout, stderr } = await runScript(join("dist", "test", "support", "torture", "main.js"), args);
    expect(stderr, `seed ${seed}\n${stdout}`).toBe("");
    expect(code).toBe(0);
    const counts = JSON.parse(stdout.trim().split("\n").pop()!) as {
      ok: boolean;
      runs: number;
      kills: number;
      effectsChecked: number;
      repeats: number;
    };
    expect(counts).toMatchObject({ ok: true, runs: 6, effectsChecked: 6 * 4 * 2 });
    expect(counts.kills).toBeGreaterThan(0);
    expect(counts.repeats).toBeLessThanOrEqual(counts.kills);
  });
});
