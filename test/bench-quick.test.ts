// Smoke test of the benchmarks (bench/): `--quick` runs every figure at a small size once. Only
// completion and sane numbers are checked; timings are never asserted.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT } from "./support/cli.js";

const dir = mkdtempSync(join(tmpdir(), "dwe-bench-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Entry {
  value: number | null;
  unit: string;
  target: string;
  baseline: number | null;
  note: string;
}

describe("bench --quick", () => {
  it("runs every benchmark and writes sane figures", () => {
    const out = join(dir, "results.json");
    const r = spawnSync(process.execPath, [join(ROOT, "dist", "bench", "main.js"), "--quick", "--out", out], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 300_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("| B1 |");
    const results = JSON.parse(readFileSync(out, "utf8")) as Record<string, Entry>;
    for (const id of ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B9"]) expect(Object.keys(results)).toContain(id);
    // PostgreSQL rows next to SQLite ones (null with "not measured" when PostgreSQL is unreachable).
    for (const id of ["B1-pg", "B4-pg", "B9-pg"]) expect(Object.keys(results)).toContain(id);
    for (const id of ["B10", "B10-pg", "B11", "B12", "B12-default", "B12-pg"]) expect(Object.keys(results)).toContain(id);
    for (const [id, e] of Object.entries(results)) {
      expect(Object.keys(e).sort(), id).toEqual(["baseline", "note", "target", "unit", "value"]);
      expect(e.unit.length, id).toBeGreaterThan(0);
      expect(e.target.length, id).toBeGreaterThan(0);
      expect(e.note.length, id).toBeGreaterThan(0);
      if (e.value === null) {
        expect(e.note, id).toMatch(/not measured/);
        continue;
      }
      expect(Number.isFinite(e.value), id).toBe(true);
      if (e.baseline !== null) expect(Number.isFinite(e.baseline), id).toBe(true);
      // Added costs (B3) are differences and may be negative under noise; everything else is positive.
      if (!id.startsWith("B3")) expect(e.value, id).toBeGreaterThan(0);
    }
    expect(results.B1!.unit).toBe("µs per call");
    expect(results.B2!.unit).toBe("entries/s");
    expect(results.B7!.unit).toBe("ms");
    expect(results.B9!.unit).toBe("ms");
  }, 300_000);
});
