// `dwe run` and `dwe resume` on a terminal show a status line from the run's first second on
// (entries replayed of total, live calls, the latest op, elapsed), erased before guest output and
// at the end; never in a pipe or with --json. The terminal is a real pseudo-terminal: util-linux's
// script(1) (Debian's bsdutils; .ci/run installs it when missing).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { DWE, dwe, workdir } from "./support/cli.js";
import { abiGuest } from "./support/guest-wat.js";

const ERASE = "\r\x1b[2K";

describe("status line of dwe run on a terminal", () => {
  const w = workdir();
  let guest: string;
  let twice: string;
  /** `dwe ARGS` on a pseudo-terminal (stdin, stdout and stderr): what the terminal showed. */
  const onTerminal = (args: string[]): string => {
    const quoted = [process.execPath, DWE, "--db", w.db, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
    return execFileSync("script", ["-qfec", quoted, "/dev/null"], { cwd: w.dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  };

  /** 300 clock.now calls, then sleeps of `sleeps` (7 bytes of MessagePack each), then logs "after". */
  const slowGuest = (name: string, sleeps: string[]) =>
    abiGuest(w.dir, name, {
      data: {
        ...{ 0: "clock.now", 16: "sleep", 32: "log", 48: "\\81\\a7message\\a5after" },
        ...Object.fromEntries(sleeps.map((s, i) => [64 + 16 * i, s])),
      },
      body: `(local $i i32)
        (block $done (loop $next
          (br_if $done (i32.ge_u (local.get $i) (i32.const 300)))
          (drop (call $call (i32.const 0) (i32.const 9) (i32.const 0) (i32.const 0)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $next)))
        ${sleeps.map((_, i) => `(drop (call $call (i32.const 16) (i32.const 5) (i32.const ${64 + 16 * i}) (i32.const 7)))`).join("\n")}
        (drop (call $call (i32.const 32) (i32.const 3) (i32.const 48) (i32.const 15)))`,
    });

  beforeAll(() => {
    const ms1500 = "\\81\\a2ms\\cd\\05\\dc";
    const ms2000 = "\\81\\a2ms\\cd\\07\\d0";
    guest = slowGuest("slow", [ms2000]);
    twice = slowGuest("twice", [ms1500, ms2000]);
  });
  afterAll(() => w.cleanup());

  it("shows the run's figures while it sleeps, erases the line before guest output and at the end", () => {
    const out = onTerminal(["run", guest, "--id", "tty"]);
    expect(out).toMatch(/[-\\|/] run tty: live 30[01], (clock\.now|sleep), \d+\.\ds/);
    // The log line after the sleep starts on a line of its own, the status line erased before it.
    expect(out).toMatch(/(\n|\x1b\[2K)after\r\n/);
    expect(out.lastIndexOf(ERASE)).toBeGreaterThan(out.lastIndexOf("run tty:"));
    expect(out.endsWith(ERASE) || out.endsWith("after\r\n")).toBe(true);
  });

  it("shows the replay of dwe resume", () => {
    // Suspended at its first sleep (--suspend-after 1000), then resumed: its 301 entries are
    // replayed, and it sleeps 2 s more in memory.
    const first = dwe(["run", twice, "--id", "again", "--suspend-after", "1000", "--quiet"], { cwd: w.dir, db: w.db });
    expect(first.code, first.stderr).toBe(75);
    const out = onTerminal(["resume", "again", "--suspend-after", "5000"]);
    expect(out).toMatch(/run again: replayed 30[12], live [12], sleep, \d+\.\ds/);
    expect(out).toContain("after\r\n");
  });

  it("is not shown in a pipe, nor with --json or --quiet on a terminal", () => {
    const piped = dwe(["run", guest, "--id", "piped"], { cwd: w.dir, db: w.db });
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stderr).toBe("dwe: run piped\nafter\n");
    for (const flag of ["--json", "--quiet"]) {
      const out = onTerminal(["run", guest, "--id", `tty${flag}`, flag]);
      expect(out).not.toContain("\x1b");
      expect(out).not.toContain("live ");
    }
  });
});
