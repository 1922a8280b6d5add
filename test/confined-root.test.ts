// ConfinedRoot (host-functions/confined-root.ts), the one confined file-system layer, on real
// files: symlinks followed only inside the grant, `..` never above it, FIFOs and sockets refused
// without blocking, huge paths refused at once, and no descriptor left open, whatever it answers.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import {
  constants,
  existsSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmdirSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfinedRoot, fdPath, MAX_SYMLINK_HOPS } from "../host-functions/confined-root.js";

const { O_RDONLY, O_WRONLY, O_CREAT } = constants;

describe("ConfinedRoot", () => {
  const base = mkdtempSync(join(tmpdir(), "dwe-confined-"));
  const grant = join(base, "grant");
  const outside = join(base, "outside");
  const root = new ConfinedRoot(grant, "/data");
  let socket: Server;

  const read = (rel: string, follow = true) => root.withOpen(rel, O_RDONLY, { follow, type: "file" }, (fd) => readFileSync(fd, "utf8"));
  /** The error code (`code`, or `wasiCode` for a refusal of the layer itself) `f` throws. */
  const failure = (f: () => unknown): string => {
    try {
      f();
    } catch (err) {
      const e = err as { wasiCode?: string; code?: string };
      return e.wasiCode ?? e.code ?? String(err);
    }
    return "no error";
  };

  beforeAll(async () => {
    mkdirSync(join(grant, "a", "b"), { recursive: true });
    mkdirSync(outside);
    writeFileSync(join(grant, "a", "b", "f"), "inside");
    writeFileSync(join(outside, "secret"), "OUTSIDE");
    symlinkSync("b", join(grant, "a", "lb")); // relative, inside
    symlinkSync(join(grant, "a"), join(grant, "abs-in")); // absolute, inside
    symlinkSync("../../a/b/f", join(grant, "a", "b", "up")); // climbs, stays inside
    symlinkSync("../outside", join(grant, "rel-out"));
    symlinkSync(outside, join(grant, "abs-out"));
    symlinkSync(join(outside, "new"), join(grant, "dangling-out"));
    symlinkSync("self", join(grant, "self"));
    execFileSync("mkfifo", [join(grant, "fifo")]);
    socket = createServer();
    await new Promise<void>((resolve) => socket.listen(join(grant, "sock"), resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => socket.close(resolve));
    rmSync(base, { recursive: true, force: true });
  });

  it("follows symlinks that stay inside: relative, absolute into the grant, climbing with ..", () => {
    expect(read("a/b/f")).toBe("inside");
    expect(read("a/lb/f")).toBe("inside");
    expect(read("abs-in/b/f")).toBe("inside");
    expect(read("a/b/up")).toBe("inside");
    expect(read("a/b/../lb/./f")).toBe("inside");
  });

  it("refuses every way out: a relative or absolute symlink, .. above the root, a dangling link to create through", () => {
    expect(failure(() => read("rel-out/secret"))).toBe("ENOTCAPABLE");
    expect(failure(() => read("abs-out/secret"))).toBe("ENOTCAPABLE");
    expect(failure(() => read("../outside/secret"))).toBe("ENOTCAPABLE");
    expect(failure(() => read("a/../../outside/secret"))).toBe("ENOTCAPABLE");
    expect(failure(() => root.open("dangling-out", O_WRONLY | O_CREAT, { follow: true, type: "file" }))).toBe("ENOTCAPABLE");
    expect(existsSync(join(outside, "new"))).toBe(false);
    expect(failure(() => root.stat("rel-out/secret", true))).toBe("ENOTCAPABLE");
    expect(failure(() => root.at("abs-out/secret", () => undefined))).toBe("ENOTCAPABLE");
  });

  it("does not follow a final symlink unless asked: open is ELOOP, stat is lstat, unlink removes the link", () => {
    expect(failure(() => read("a/lb", false))).toBe("ELOOP");
    expect(root.stat("abs-out", false).isSymbolicLink()).toBe(true);
    symlinkSync(outside, join(grant, "to-remove"));
    root.remove("to-remove", false);
    expect(existsSync(join(grant, "to-remove"))).toBe(false);
    expect(readFileSync(join(outside, "secret"), "utf8")).toBe("OUTSIDE");
  });

  it(`stops a symlink loop after ${MAX_SYMLINK_HOPS} hops, and follows a chain of ${MAX_SYMLINK_HOPS}`, () => {
    expect(failure(() => read("self"))).toBe("ELOOP");
    mkdirSync(join(grant, "chain"));
    writeFileSync(join(grant, "chain", "end"), "end of chain");
    for (let i = 0; i < MAX_SYMLINK_HOPS; i++) symlinkSync(i === 0 ? "end" : `l${i - 1}`, join(grant, "chain", `l${i}`));
    expect(read(`chain/l${MAX_SYMLINK_HOPS - 1}`)).toBe("end of chain");
    symlinkSync(`l${MAX_SYMLINK_HOPS - 1}`, join(grant, "chain", "one-more"));
    expect(failure(() => read("chain/one-more"))).toBe("ELOOP");
  });

  it("refuses a FIFO and a socket at once, to read and to write, instead of blocking", () => {
    const t = Date.now();
    expect(failure(() => read("fifo"))).toBe("ENOTSUP");
    expect(failure(() => root.open("fifo", O_WRONLY, { follow: true, type: "file" }))).toBe("ENOTSUP");
    expect(failure(() => root.open("fifo", O_RDONLY, { follow: true, type: "file-or-dir" }))).toBe("ENOTSUP");
    expect(failure(() => read("sock"))).toBe("ENOTSUP");
    expect(failure(() => root.open("sock", O_WRONLY, { follow: true, type: "file" }))).toBe("ENOTSUP");
    expect(Date.now() - t).toBeLessThan(5_000);
  });

  it("a file where a directory is meant: a trailing slash or a path through it is ENOTDIR", () => {
    expect(failure(() => read("a/b/f/"))).toBe("ENOTDIR");
    expect(failure(() => read("a/b/f/x"))).toBe("ENOTDIR");
    expect(failure(() => root.open("a/b/f", O_RDONLY, { follow: true, type: "dir" }))).toBe("ENOTDIR");
  });

  it("a trailing slash on a name-only call goes to the kernel (ENOTDIR, ENOENT, EEXIST), never through a symlink out", () => {
    mkdirSync(join(grant, "slash"));
    writeFileSync(join(grant, "slash", "file"), "f");
    symlinkSync(outside, join(grant, "slash", "out"));
    const s = new ConfinedRoot(join(grant, "slash"), "/s");
    expect(failure(() => s.at("file/", (p) => unlinkSync(p), { nameOnly: true }))).toBe("ENOTDIR");
    expect(failure(() => s.at("out/", (p) => unlinkSync(p), { nameOnly: true }))).toBe("ENOTDIR");
    expect(failure(() => s.at("out/", (p) => rmdirSync(p), { nameOnly: true }))).toBe("ENOTDIR");
    expect(failure(() => s.at("new/", (p) => symlinkSync("x", p), { nameOnly: true }))).toBe("ENOENT");
    expect(failure(() => s.at("out/", (p) => symlinkSync("x", p), { nameOnly: true }))).toBe("EEXIST");
    expect(failure(() => s.at("out/", (p) => mkdirSync(p), { nameOnly: true }))).toBe("EEXIST");
    s.at("dir/", (p) => mkdirSync(p), { nameOnly: true });
    expect(failure(() => s.at("dir/", (p) => unlinkSync(p), { nameOnly: true }))).toBe("EISDIR");
    expect(failure(() => ConfinedRoot.atBoth(s, "file", s, "link/", linkSync, { a: false, b: true }))).toBe("ENOENT");
    s.at("dir/", (p) => rmdirSync(p), { nameOnly: true });
    expect(readdirSync(join(grant, "slash")).sort()).toEqual(["file", "out"]);
    expect(readdirSync(outside)).toEqual(["secret"]);
  });

  it("a trailing slash on any other call resolves the name as POSIX does: a final symlink is followed, confined, to a directory", () => {
    const seen: string[] = [];
    expect(failure(() => root.at("a/b/f/", (p) => seen.push(p)))).toBe("ENOTDIR");
    expect(failure(() => root.at("abs-out/", (p) => seen.push(p)))).toBe("ENOTCAPABLE");
    expect(failure(() => root.at("abs-out/", (p) => seen.push(p), { follow: true }))).toBe("ENOTCAPABLE");
    expect(failure(() => root.at("dangling-out/", (p) => seen.push(p)))).toBe("ENOTCAPABLE");
    expect(failure(() => root.stat("a/b/f/", false))).toBe("ENOTDIR");
    expect(seen).toEqual([]);
    expect(root.at("a/lb/", (p) => lstatSync(p).isDirectory(), { follow: true })).toBe(true);
    expect(root.stat("a/lb/", false).isDirectory()).toBe(true);
  });

  it("readlink and set-times of `link/` act on the directory it leads to, as Linux and wasmtime answer", () => {
    mkdirSync(join(grant, "times", "d"), { recursive: true });
    writeFileSync(join(grant, "times", "f"), "f");
    symlinkSync("d", join(grant, "times", "ld"));
    symlinkSync("f", join(grant, "times", "lf"));
    symlinkSync("nope", join(grant, "times", "dang"));
    const t = new ConfinedRoot(join(grant, "times"), "/t");
    // readlink(2) of a directory is EINVAL: `ld/` is the directory, not the link.
    expect(failure(() => t.at("ld/", (p) => readlinkSync(p)))).toBe("EINVAL");
    expect(failure(() => t.at("lf/", (p) => readlinkSync(p)))).toBe("ENOTDIR");
    expect(failure(() => t.at("dang/", (p) => readlinkSync(p)))).toBe("ENOENT");
    expect(t.at("ld", (p) => readlinkSync(p, "utf8"))).toBe("d");
    // Set-times without follow (lutimes) of `ld/` sets the directory's times, not the link's.
    const when = new Date("2001-02-03T04:05:06Z");
    t.at("ld/", (p) => lutimesSync(p, when, when));
    expect(lstatSync(join(grant, "times", "d")).mtime).toEqual(when);
    expect(lstatSync(join(grant, "times", "ld")).mtime).not.toEqual(when);
    expect(failure(() => t.at("lf/", (p) => lutimesSync(p, when, when)))).toBe("ENOTDIR");
    // remove acts on a name: `ld/` is not a directory itself, and nothing it leads to is removed.
    expect(failure(() => t.remove("ld/", true))).toBe("ENOTDIR");
    expect(existsSync(join(grant, "times", "d"))).toBe(true);
    t.remove("d/", true);
    expect(existsSync(join(grant, "times", "d"))).toBe(false);
  });

  it("opens a final symlink as a directory only when told to follow it (ENOTDIR otherwise, as Linux's O_DIRECTORY|O_NOFOLLOW)", () => {
    expect(failure(() => root.open("a/lb", O_RDONLY, { follow: false, type: "dir" }))).toBe("ENOTDIR");
    expect(failure(() => root.open("dangling-out", O_RDONLY, { follow: false, type: "dir" }))).toBe("ENOTDIR");
    root.withOpen("a/lb", O_RDONLY, { follow: true, type: "dir" }, (fd) => expect(readdirSync(fdPath(fd))).toContain("f"));
  });

  it("removes a tree through descriptors: a symlink in it to outside is unlinked, never followed", () => {
    mkdirSync(join(grant, "tree", "sub", "deeper"), { recursive: true });
    writeFileSync(join(grant, "tree", "sub", "x"), "x");
    symlinkSync(outside, join(grant, "tree", "sub", "out"));
    root.remove("tree", true);
    expect(existsSync(join(grant, "tree"))).toBe(false);
    expect(readdirSync(outside)).toEqual(["secret"]);
  });

  it("refuses a path over 4096 bytes at once; a 4005-byte path of 2,403 components costs little", () => {
    const huge = "a/".repeat(100_000);
    let t = performance.now();
    expect(failure(() => read(huge))).toBe("ENAMETOOLONG");
    expect(performance.now() - t).toBeLessThan(100);
    const long = "a/../".repeat(800) + "a/b/f"; // 4005 bytes, 2,403 components, all looked up
    t = performance.now();
    expect(read(long)).toBe("inside");
    expect(performance.now() - t).toBeLessThan(2_000);
  });

  it("leaves no descriptor open, whatever it answers", () => {
    const open = () => readdirSync("/proc/self/fd").length;
    const before = open();
    for (let i = 0; i < 50; i++) {
      read("a/lb/f");
      for (const rel of ["rel-out/secret", "abs-out/secret", "self", "fifo", "sock", "a/b/f/x", "missing/x", "a/lb"])
        failure(() => read(rel));
      failure(() => read("a/lb", false));
      root.stat("a/b/up", true);
      root.withOpen("a", O_RDONLY, { follow: true, type: "dir" }, (fd) => readdirSync(fdPath(fd)));
    }
    expect(open()).toBe(before);
  });
});
