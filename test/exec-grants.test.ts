// What `--allow-shell PROG,…` grants is exactly those programs: each is fixed, when granted, to the
// file the host's PATH names for it (stored with the run, shown by `dwe show`), so the guest cannot
// substitute another one through PATH; variables that make a program run other code (LD_PRELOAD,
// PATH, NODE_OPTIONS…) are refused unless `--allow-env-override` names them; and a command runs in a
// granted directory, never in dwe's own working directory.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, realpathSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dweAsync, workdir, type CliResult } from "./support/cli.js";
import { opGuest, runOutput } from "./support/op-guest.js";

describe("exec grants", () => {
  const w = workdir();
  const data = join(w.dir, "data");
  const pwned = join(data, "pwned");
  const cli = (args: string[], env?: Record<string, string>) => dweAsync(args, { cwd: w.dir, db: w.db, ...(env && { env }) });
  const stdoutOf = (id: string) => Buffer.from((runOutput(w.db, id) as { stdout: Uint8Array }).stdout).toString();
  const failsWith = (r: CliResult, id: string, code: string, message: string) => {
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr.trim()).toMatch(new RegExp(`^dwe: run ${id} failed: ${code}: `));
    expect(r.stderr).toContain(message);
  };
  /** An executable script at `path` that records that it ran. */
  const plant = (path: string, says = "") => {
    writeFileSync(path, `#!/bin/sh\necho planted >> '${pwned}'\necho ${says}\n`);
    chmodSync(path, 0o755);
  };

  beforeAll(() => {
    mkdirSync(data);
    mkdirSync(join(w.dir, "outside"));
    symlinkSync(join(w.dir, "outside"), join(data, "link"));
    mkdirSync(join(data, "sub"));
    symlinkSync("sub", join(data, "inside"));
  });
  afterAll(() => w.cleanup());

  it("LD_PRELOAD of a library the guest wrote is refused; the library never loads", async () => {
    // A library whose constructor records that it ran, in the writable grant (as a guest could write it).
    const src = join(data, "evil.c");
    writeFileSync(
      src,
      `#include <stdio.h>\n__attribute__((constructor)) static void pwn(void) { FILE *f = fopen("${pwned}", "a"); if (f) { fputs("preloaded\\n", f); fclose(f); } }\n`,
    );
    const cc = spawnSync("gcc", ["-shared", "-fPIC", "-o", join(data, "evil.so"), src], { encoding: "utf8" });
    expect(cc.status, cc.stderr).toBe(0);
    const m = opGuest(w.dir, "preload", "exec", { argv: ["echo", "hi"], env: { LD_PRELOAD: join(data, "evil.so") } });
    const r = await cli(["run", m, "--id", "preload", "--allow-shell", "echo", "--dir", data, "--quiet"]);
    failsWith(r, "preload", "denied", "setting LD_PRELOAD for a command was not granted");
    expect(r.stderr).toContain("--allow-env-override LD_PRELOAD");
    expect(existsSync(pwned)).toBe(false);
  });

  it("other protected variables are refused too (NODE_OPTIONS, exported shell functions)", async () => {
    for (const [id, name] of [
      ["node-options", "NODE_OPTIONS"],
      ["bash-func", "BASH_FUNC_echo%%"],
    ] as const) {
      const m = opGuest(w.dir, id, "exec", { argv: ["echo", "hi"], env: { [name]: "--require /data/x.js" } });
      const r = await cli(["run", m, "--id", id, "--allow-shell", "echo", "--dir", data, "--quiet"]);
      failsWith(r, id, "denied", `setting ${name} for a command was not granted`);
    }
  });

  it("a PATH set by the guest neither is allowed by default nor, when allowed, changes which program runs", async () => {
    plant(join(data, "echo"), "planted");
    const m = opGuest(w.dir, "path", "exec", { argv: ["echo", "hi"], env: { PATH: data } });
    const r = await cli(["run", m, "--id", "path", "--allow-shell", "echo", "--dir", `${data}:ro`, "--quiet"]);
    failsWith(r, "path", "denied", "setting PATH for a command was not granted");
    // Allowed: the command sees the guest's PATH, but `echo` is still the file granted.
    const m2 = opGuest(w.dir, "path-allowed", "exec", { argv: ["echo", "hi"], env: { PATH: data } });
    const r2 = await cli([
      "run",
      m2,
      "--id",
      "path-allowed",
      "--allow-shell",
      "echo",
      "--allow-env-override",
      "PATH",
      "--dir",
      `${data}:ro`,
      "--quiet",
    ]);
    expect(r2.code, r2.stderr).toBe(0);
    expect(stdoutOf("path-allowed")).toBe("hi\n");
    expect(existsSync(pwned)).toBe(false);
    const shown = JSON.parse((await cli(["show", "path-allowed", "--json"])).stdout) as { grants: { envOverride: string[] } };
    expect(shown.grants.envOverride).toEqual(["PATH"]);
  });

  it("a listed program is fixed to its path on the host's PATH when granted: a resume with another PATH runs the same file", async () => {
    const [binA, binB] = [join(w.dir, "bin-a"), join(w.dir, "bin-b")];
    for (const [bin, says] of [
      [binA, "A"],
      [binB, "B"],
    ] as const) {
      mkdirSync(bin);
      writeFileSync(join(bin, "mytool"), `#!/bin/sh\necho ${says}\n`);
      chmodSync(join(bin, "mytool"), 0o755);
    }
    const m = opGuest(w.dir, "fixed", "exec", { argv: ["mytool"] });
    const created = await cli(["run", m, "--id", "fixed", "--allow-shell", "mytool", "--dir", data, "--detach"], {
      PATH: `${binA}:${process.env.PATH ?? ""}`,
    });
    expect(created.code, created.stderr).toBe(0);
    const shown = await cli(["show", "fixed"]);
    expect(shown.stdout).toContain(`shell mytool (${join(binA, "mytool")})`);
    const r = await cli(["resume", "fixed", "--quiet"], { PATH: `${binB}:${process.env.PATH ?? ""}` });
    expect(r.code, r.stderr).toBe(0);
    expect(stdoutOf("fixed")).toBe("A\n");
  });

  it("granting a program that is not on PATH, or that a writable grant could replace, is refused before the run exists", async () => {
    const m = opGuest(w.dir, "nope", "exec", { argv: ["no-such-tool"] });
    const r = await cli(["run", m, "--id", "nope", "--allow-shell", "no-such-tool", "--dir", data]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^dwe: error: --allow-shell no-such-tool: no executable 'no-such-tool' on PATH/);
    plant(join(data, "tool"));
    const r2 = await cli(["run", m, "--id", "nope", "--allow-shell", "tool", "--dir", data], { PATH: `${data}:${process.env.PATH ?? ""}` });
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain("is inside the writable grant --dir");
    expect((await cli(["show", "nope"])).code).not.toBe(0);
  });

  it("a command runs in the first granted directory by default, never in dwe's working directory", async () => {
    const m = opGuest(w.dir, "pwd", "exec", { argv: ["pwd"] });
    const r = await cli(["run", m, "--id", "pwd", "--allow-shell", "pwd", "--dir", `${data}:/data`, "--quiet"]);
    expect(r.code, r.stderr).toBe(0);
    expect(stdoutOf("pwd")).toBe(realpathSync(data) + "\n");
    // A cwd through a symlink that stays inside the grant is followed.
    const inside = opGuest(w.dir, "pwd-inside", "exec", { argv: ["pwd"], cwd: "/data/inside" });
    const ri = await cli(["run", inside, "--id", "pwd-inside", "--allow-shell", "pwd", "--dir", `${data}:/data`, "--quiet"]);
    expect(ri.code, ri.stderr).toBe(0);
    expect(stdoutOf("pwd-inside")).toBe(realpathSync(join(data, "sub")) + "\n");
    const none = await cli(["run", m, "--id", "pwd-none", "--allow-shell", "pwd", "--quiet"]);
    failsWith(none, "pwd-none", "denied", "exec runs its command in a granted directory, and none was granted");
  });

  it('a cwd outside every grant ("/", through a symlink) is denied', async () => {
    for (const [id, cwd, message] of [
      ["cwd-root", "/", "'/' is outside every granted directory"],
      ["cwd-link", "/data/link", "leads outside its granted directory"],
    ] as const) {
      const m = opGuest(w.dir, id, "exec", { argv: ["pwd"], cwd });
      const r = await cli(["run", m, "--id", id, "--allow-shell", "pwd", "--dir", `${data}:/data`, "--quiet"]);
      failsWith(r, id, "denied", message);
    }
  });

  it("a NUL byte in an argument is `invalid`, not an internal error", async () => {
    const m = opGuest(w.dir, "nul", "exec", { argv: ["echo", "a\0b"] });
    const r = await cli(["run", m, "--id", "nul", "--allow-shell", "echo", "--dir", data, "--quiet"]);
    failsWith(r, "nul", "invalid", "exec arguments cannot contain NUL bytes");
  });
});
