// Deny by default: files only under granted directories (never through `..` or symlinks), network
// only to granted hosts, commands only when granted; and at-most-once effects after a crash.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dweAsync, exited, spawnDwe, workdir } from "./support/cli.js";
import { compileAs } from "./support/assemblyscript.js";
import { CountingServer } from "./support/servers.js";

function report(stdout: string): Record<string, string> {
  return Object.fromEntries(
    stdout
      .trim()
      .split("\n")
      .map((l) => {
        const i = l.indexOf("=");
        return [l.slice(0, i), l.slice(i + 1)];
      }),
  );
}

describe("capabilities", () => {
  const w = workdir();
  const server = new CountingServer();
  let url = "";
  let mod = "";
  let once = "";

  beforeAll(async () => {
    url = await server.start();
    mod = await compileAs("test/fixtures/core/capabilities.ts", join(w.dir, "build"));
    once = await compileAs("test/fixtures/core/at-most-once.ts", join(w.dir, "build"));
    mkdirSync(join(w.dir, "data"));
    mkdirSync(join(w.dir, "ro"));
    mkdirSync(join(w.dir, "outside"));
    writeFileSync(join(w.dir, "secret.txt"), "secret");
    writeFileSync(join(w.dir, "outside", "secret.txt"), "secret");
    writeFileSync(join(w.dir, "ro", "readme.txt"), "read me");
    symlinkSync(join(w.dir, "outside"), join(w.dir, "data", "link"));
  });
  afterAll(async () => {
    await server.stop();
    w.cleanup();
  });

  it("with grants: files work inside, every escape is denied, and only granted hosts and commands are reachable", async () => {
    const r = await dweAsync(
      [
        "run",
        mod,
        "--dir",
        "data:/data",
        "--dir",
        "ro:/ro:ro",
        "--allow-net",
        "127.0.0.1",
        "--allow-shell",
        "true",
        "--input",
        JSON.stringify({ url }),
      ],
      { cwd: w.dir, db: w.db },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(report(r.stdout)).toEqual({
      write: "ok",
      append: "ok",
      read: "ok:one|two|",
      "read-relative": "ok",
      stat: "ok:file:8",
      list: "ok:a.txt:link",
      remove: "ok",
      "read-removed": "not_found",
      dotdot: "denied",
      absolute: "denied",
      symlink: "denied",
      "write-through-symlink": "denied",
      "write-readonly": "denied",
      "read-readonly": "ok",
      http: "ok",
      "http-other-host": "denied",
      exec: "ok",
    });
    expect(existsSync(join(w.dir, "outside", "planted.txt"))).toBe(false);
    expect(server.received).toHaveLength(1);
  });

  it("without grants nothing is reachable", async () => {
    const r = await dweAsync(["run", mod, "--input", JSON.stringify({ url })], { cwd: w.dir, db: w.db });
    expect(r.code, r.stderr).toBe(0);
    const got = report(r.stdout);
    for (const [k, v] of Object.entries(got)) expect(v, k).toBe("denied");
  });

  it("a program not in the --allow-shell list is denied", async () => {
    const r = await dweAsync(["run", mod, "--allow-shell", "sh", "--input", JSON.stringify({ url })], { cwd: w.dir, db: w.db });
    expect(report(r.stdout).exec).toBe("denied");
  });

  it("an at-most-once request in flight at a crash is not sent again; the guest gets outcome_unknown", async () => {
    const child = spawnDwe(["run", once, "--id", "pay", "--allow-net", "127.0.0.1", "--input", JSON.stringify({ url })], {
      cwd: w.dir,
      db: w.db,
    });
    const before = server.received.length;
    server.hold = async () => {
      child.kill("SIGKILL");
      await exited(child);
    };
    await exited(child);
    server.hold = () => Promise.resolve();
    const r = await dweAsync(["resume", "pay"], { cwd: w.dir, db: w.db });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe("outcome_unknown");
    expect(server.received.length - before).toBe(1);
  });
});
