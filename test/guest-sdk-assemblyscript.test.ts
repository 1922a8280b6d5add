// The AssemblyScript guest SDK (guest-sdk/assemblyscript) against a fake `dwe` host written here:
// msgpack and JSON round trips, every typed wrapper, host errors, and the exact op sequence of
// examples/effects (the contract the engine's crash tests rely on).

import { describe, it, expect, beforeAll } from "vitest";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { pack, unpack } from "msgpackr";
import asc from "assemblyscript/asc";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const ASC_FLAGS = ["--optimizeLevel", "3", "--shrinkLevel", "1", "--noAssert", "--runtime", "incremental"];

// ---- fake host --------------------------------------------------------------------------------

type Reply = { ok: unknown } | { raw: Uint8Array } | { err: { code: string; message: string } } | undefined;
/** The request fields the handlers below read (each handler knows the shape of its own ops). */
interface Req {
  len: number;
  path: string;
  method: string;
  body: Uint8Array;
  argv: string[];
  data: Uint8Array;
  code: string;
  message: string;
}
type Handler = (op: string, req: Req) => Reply;
interface Call {
  op: string;
  req: unknown;
  raw: Uint8Array;
}

class RunFailed extends Error {
  constructor(public req: unknown) {
    super(`run.fail: ${JSON.stringify(req)}`);
  }
}
class GuestAbort extends Error {}

interface RunResult {
  calls: Call[];
  output?: Uint8Array;
  failed?: Req;
}

/** Runs export `entry` of `mod` with a fake host; `handler` answers ops other than run.*. */
function runGuest(mod: WebAssembly.Module, entry: string, handler: Handler = () => undefined, input = ""): RunResult {
  let pending: Uint8Array = new Uint8Array(0);
  const calls: Call[] = [];
  const result: RunResult = { calls };
  const dec = new TextDecoder("utf-8", { fatal: true });
  const readAsString = (ptr: number) => {
    if (ptr === 0) return "";
    const len = new Uint32Array(memory.buffer, ptr - 4, 1)[0];
    return Buffer.from(memory.buffer, ptr, len).toString("utf16le");
  };
  const imports = {
    dwe: {
      call(opPtr: number, opLen: number, reqPtr: number, reqLen: number): number {
        const mem = new Uint8Array(memory.buffer);
        const op = dec.decode(mem.subarray(opPtr, opPtr + opLen));
        const raw = mem.slice(reqPtr, reqPtr + reqLen);
        const req: unknown = reqLen === 0 ? null : unpack(raw);
        calls.push({ op, req, raw });
        let reply: Reply;
        switch (op) {
          case "run.input":
            reply = { ok: Buffer.from(input) };
            break;
          case "run.output":
            result.output = Buffer.from(req as Uint8Array);
            reply = undefined;
            break;
          case "run.fail":
            result.failed = req as Req;
            throw new RunFailed(req);
          default:
            reply = handler(op, req as Req);
        }
        if (reply === undefined) {
          pending = new Uint8Array(0);
          return 0;
        }
        if ("err" in reply) {
          pending = pack(reply.err);
          return -pending.length - 1;
        }
        pending = "raw" in reply ? reply.raw : pack(reply.ok);
        return pending.length;
      },
      response(dst: number, len: number): number {
        const n = Math.min(len, pending.length);
        new Uint8Array(memory.buffer).set(pending.subarray(0, n), dst);
        if (n === pending.length) pending = new Uint8Array(0);
        return n;
      },
    },
    env: {
      abort(msg: number, file: number, line: number, col: number): never {
        throw new GuestAbort(`abort: ${readAsString(msg)} at ${readAsString(file)}:${line}:${col}`);
      },
    },
  };
  const inst = new WebAssembly.Instance(mod, imports);
  const memory = inst.exports.memory as WebAssembly.Memory;
  try {
    (inst.exports[entry] as () => void)();
  } catch (e) {
    if (!(e instanceof RunFailed)) throw e;
  }
  return result;
}

const text = (b?: Uint8Array) => Buffer.from(b ?? new Uint8Array(0)).toString("utf8");
const ops = (r: RunResult) => r.calls.map((c) => c.op);

/** msgpackr gives BigInt for every int64/uint64 encoding; compare numbers by value. */
function norm(v: unknown): unknown {
  if (typeof v === "bigint") return Number.isSafeInteger(Number(v)) ? Number(v) : v;
  if (v instanceof Uint8Array) return { bin: Array.from(v) };
  if (Array.isArray(v)) return v.map(norm);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]));
  return v;
}

async function compile(entry: string): Promise<WebAssembly.Module> {
  let binary: Uint8Array | undefined;
  let stderr = "";
  const { error } = await asc.main([entry, "--outFile", "out.wasm", ...ASC_FLAGS, "--baseDir", ROOT], {
    writeFile(name: string, contents: Uint8Array | string) {
      if (name.endsWith(".wasm")) binary = contents as Uint8Array;
    },
    stdout: {
      write() {
        return true;
      },
    },
    stderr: {
      write(s: string | Uint8Array) {
        stderr += String(s);
        return true;
      },
    },
  });
  if (error || !binary) throw new Error(`asc failed for ${entry}:\n${stderr}\n${error?.message ?? "no output"}`);
  return new WebAssembly.Module(new Uint8Array(binary));
}

// ---- the SDK through a test module ------------------------------------------------------------

describe("AssemblyScript guest SDK", () => {
  let mod: WebAssembly.Module;
  beforeAll(async () => {
    mod = await compile("test/fixtures/as-sdk/index.ts");
  }, 120_000);

  it("imports only dwe.call, dwe.response and env.abort; exports run and memory", () => {
    const imports = WebAssembly.Module.imports(mod)
      .map((i) => `${i.module}.${i.name}`)
      .sort();
    expect(imports).toEqual(["dwe.call", "dwe.response", "env.abort"]);
    const exports = WebAssembly.Module.exports(mod).map((e) => e.name);
    expect(exports).toContain("run");
    expect(exports).toContain("memory");
  });

  it("a nil request is sent as req_len 0 and an empty response is nil", () => {
    const r = runGuest(mod, "run", () => undefined);
    expect(r.calls).toEqual([{ op: "test.nil", req: null, raw: new Uint8Array(0) }]);
  });

  it("round-trips every msgpack type through the host", () => {
    let sent: unknown;
    const r = runGuest(mod, "msgpackEcho", (op, req) => {
      expect(op).toBe("test.echo");
      sent = req;
      return { raw: pack(req) }; // msgpackr re-encodes: map16, float64 for big ints, bigint as int64
    });
    expect(r.failed).toBeUndefined();
    const expected = {
      nil: null,
      t: true,
      f: false,
      zero: 0,
      i7: 127,
      u8: 255,
      u16: 65535,
      u32: 4294967295,
      u64: 4294967296,
      umax: 18446744073709551615n,
      n1: -1,
      n32: -32,
      n33: -33,
      n129: -129,
      n40000: -40000,
      n3e9: -3000000000,
      imin: -9223372036854775808n,
      f1: 1.5,
      f2: -0.1,
      f3: 1e300,
      s: "héllo ✓ 😀",
      s0: "",
      s320: "abcdefgh".repeat(40),
      bin: new Uint8Array([0, 1, 255]),
      bin300: new Uint8Array(Array.from({ length: 300 }, (_, i) => i & 255)),
      nested: { list: [1, ["x", { deep: true }]], empty_map: {}, empty_list: [] },
      arr20: Array.from({ length: 20 }, (_, i) => i * 1000),
    };
    expect(norm(sent)).toEqual(norm(expected));
    // Exact encodings chosen by the guest's writer (smallest form).
    const raw = r.calls[0]!.raw;
    const hex = Buffer.from(raw).toString("hex");
    expect(hex.startsWith("de001b")).toBe(true); // map16, 27 entries
    expect(hex).toContain("a36e696c" + "c0"); // "nil": nil
    expect(hex).toContain("a3753634" + "cf0000000100000000"); // "u64": uint64
    expect(hex).toContain("a36e3333" + "d0df"); // "n33": int8 -33
    expect(hex).toContain("a46e336539" + "d3ffffffff4d2fa200"); // "n3e9": int64
    expect(hex).toContain("a26631" + "cb3ff8000000000000"); // "f1": float64 1.5
    // The guest's re-encoding of what it decoded equals the original value.
    expect(norm(unpack(r.output!))).toEqual(norm(expected));
  });

  it("decodes every msgpack format the host may send", () => {
    const h = (s: string) => s.replace(/\s+/g, "");
    const str32 = Buffer.concat([Buffer.from("db00000003", "hex"), Buffer.from("abc")]);
    const bin32 = Buffer.from("c600000002beef", "hex");
    const map32 = Buffer.from("df00000001a16b01", "hex");
    const arr32 = Buffer.from("dd000000020102", "hex");
    const parts = [
      h("7f"),
      h("cc ff"),
      h("cd ffff"),
      h("ce ffffffff"),
      h("cf 0000000100000000"),
      h("cf ffffffffffffffff"),
      h("e0"),
      h("d0 80"),
      h("d1 8000"),
      h("d2 80000000"),
      h("d3 8000000000000000"),
      h("d3 ffffffffffffffff"),
      h("ca 3fc00000"),
      h("cb 400921fb54442d18"),
      h("c0"),
      h("c2"),
      h("c3"),
      h("a3 616263"),
      h("d9 03 616263"),
      h("da 0003 616263"),
      str32.toString("hex"),
      h("c4 02 0102"),
      h("c5 0002 0102"),
      bin32.toString("hex"),
      h("92 01 02"),
      h("dc 0002 01 02"),
      arr32.toString("hex"),
      h("81 a1 6b 01"),
      h("de 0001 a1 6b 01"),
      map32.toString("hex"),
      h("cb 4278bcfe56800000"),
    ];
    const raw = Buffer.from("dc" + parts.length.toString(16).padStart(4, "0") + parts.join(""), "hex");
    const r = runGuest(mod, "msgpackDecode", () => ({ raw }));
    expect(r.failed).toBeUndefined();
    const got = unpack(r.output!) as unknown[];
    const want = unpack(raw) as unknown[];
    expect(got.length).toBe(parts.length);
    expect(norm(got)).toEqual(norm(want));
    // The guest re-encodes the float32 as float64, with the same value.
    expect(got[12]).toBe(1.5);
    expect(got.at(-1)).toBe(1700000000000);

    // ext values (which msgpackr cannot unpack without registration) pass through byte for byte.
    const extRaw = Buffer.from("92" + "d405aa" + "c70307010203", "hex");
    const e = runGuest(mod, "msgpackDecode", () => ({ raw: extRaw }));
    expect(Buffer.from(e.output!).toString("hex")).toBe(extRaw.toString("hex"));
  });

  it("parses and writes JSON", () => {
    const roundTrip = (input: string) => text(runGuest(mod, "jsonRoundTrip", undefined, input).output);
    expect(roundTrip('{"a":1,"b":[true,false,null],"c":{"d":"e"}}')).toBe('{"a":1,"b":[true,false,null],"c":{"d":"e"}}');
    expect(roundTrip(' { "x" : [ 1 , 2 ] ,\n\t"y" : { } , "z": [] } ')).toBe('{"x":[1,2],"y":{},"z":[]}');
    expect(roundTrip('"a\\"b\\\\c\\/d\\n\\t\\r\\b\\f\\u00e9\\ud83d\\ude00\\u0001"')).toBe(JSON.stringify('a"b\\c/d\n\t\r\b\fé😀\u0001'));
    expect(roundTrip('"héllo ✓ 😀"')).toBe('"héllo ✓ 😀"');
    expect(roundTrip("[0,-0,1.5,-2.25e2,1e3,1E-7,12345678901,0.1,1e21,-1.7976931348623157e308]")).toBe(
      JSON.stringify([0, -0, 1.5, -2.25e2, 1e3, 1e-7, 12345678901, 0.1, 1e21, -1.7976931348623157e308]),
    );
    expect(roundTrip('[[[[{"deep":[{"deeper":[1]}]}]]]]')).toBe('[[[[{"deep":[{"deeper":[1]}]}]]]]');
    expect(roundTrip('{"a":1,"a":2}')).toBe('{"a":2}');
    for (const bad of ["", "{", "[1,]", '{"a" 1}', "01", "1.", "-", "tru", '"\\x"', '"a\nb"', "[1] x", "{'a':1}", '"\\u12"']) {
      expect(roundTrip(bad), bad).toMatch(/^ERR: json: /);
    }
    expect(roundTrip("[1,]")).toBe("ERR: json: unexpected character at offset 3");

    const built = runGuest(mod, "jsonBuild");
    expect(built.failed).toBeUndefined();
    const out = text(built.output);
    const expected = {
      quote: 'say "hi"\\ \n\t\r\b\f \u0001 é 😀 </script>',
      int: 42,
      neg: -7,
      frac: 0.1,
      small: 1.5e-7,
      big: 1e21,
      ms: 1700000000123,
      yes: true,
      none: null,
      list: [1, "two", [], {}],
      parsed: { a: { b: [1, 2.5, "c", true, null] }, n: -125 },
    };
    expect(out).toBe(JSON.stringify(expected));
  });

  it("reads the input as JSON; empty input is null", () => {
    expect(text(runGuest(mod, "inputAsJson", undefined, "").output)).toBe("null-input");
    expect(text(runGuest(mod, "inputAsJson", undefined, ' {"n": 3} ').output)).toBe('{"n":3}');
    const bad = runGuest(mod, "inputAsJson", undefined, "{nope");
    expect(bad.failed!.code).toBe("invalid_input");
    expect(bad.failed!.message).toMatch(/^input is not valid JSON: json: /);
  });

  it("sends the documented request of every wrapper and decodes the results", () => {
    const r = runGuest(mod, "wrappers", (op, req) => {
      switch (op) {
        case "run.info":
          return { ok: { id: "run-1", entry: "wrappers" } };
        case "run.key":
          return { ok: "run-1:7" };
        case "clock.now":
          return { ok: 1700000000123 }; // msgpackr: float64
        case "random.bytes":
          return { ok: Buffer.alloc(req.len, 7) };
        case "sleep":
          return undefined;
        case "log":
          return undefined;
        case "exec":
          return { ok: { code: 3, signal: null, stdout: Buffer.from("hi there\n"), stderr: Buffer.from("warn"), key: "run-1:9" } };
        case "http.request":
          return { ok: { status: 201, headers: { "content-type": "text/plain" }, body: Buffer.from("created"), key: "run-1:10" } };
        case "fs.write":
        case "fs.append":
        case "fs.remove":
          return undefined;
        case "fs.read":
          return { ok: Buffer.from("hello world") };
        case "fs.list":
          return {
            ok: [
              { name: "a.txt", type: "file" },
              { name: "sub", type: "dir" },
            ],
          };
        case "fs.stat":
          if (req.path === "/data/missing") return { err: { code: "not_found", message: "no such file" } };
          return { ok: { type: "file", size: 11, mtime_ms: 1700000000999 } };
      }
      throw new Error(`unexpected op ${op}`);
    });
    expect(r.failed).toBeUndefined();
    expect(norm(r.calls.map(({ op, req }) => [op, req]))).toEqual(
      norm([
        ["run.info", null],
        ["run.info", null],
        ["run.key", null],
        ["clock.now", null],
        ["random.bytes", { len: 4 }],
        ["log", { level: "info", message: "plain" }],
        ["log", { level: "warn", message: "warned", fields: { k: 1 } }],
        ["sleep", { ms: 5 }],
        ["sleep", { until: 1700000000000n }],
        [
          "exec",
          { argv: ["echo", "hi there"], cwd: "/tmp", env: { A: "b" }, stdin: Buffer.from("in"), timeout_ms: 1234, at_most_once: true },
        ],
        [
          "http.request",
          {
            method: "PUT",
            url: "http://example.test/x",
            headers: { "X-Test": "1" },
            body: Buffer.from("body"),
            timeout_ms: 500,
            at_most_once: true,
          },
        ],
        ["fs.write", { path: "/data/a.txt", data: Buffer.from("hello") }],
        ["fs.append", { path: "/data/a.txt", data: Buffer.from(" world") }],
        ["fs.read", { path: "/data/a.txt" }],
        ["fs.list", { path: "/data" }],
        ["fs.stat", { path: "/data/a.txt" }],
        ["fs.stat", { path: "/data/missing" }],
        ["fs.remove", { path: "/data/dir", recursive: true }],
        ["run.output", r.calls.at(-1)?.req],
      ]),
    );
    expect(JSON.parse(text(r.output))).toEqual({
      id: "run-1",
      entry: "wrappers",
      key: "run-1:7",
      now: 1700000000123,
      rnd: 4,
      exec_code: 3,
      exec_stdout: "hi there\n",
      exec_stderr: "warn",
      exec_success: false,
      exec_key: "run-1:9",
      http_status: 201,
      http_body: "created",
      http_header: "text/plain",
      http_key: "run-1:10",
      file: "hello world",
      entries: ["a.txt:file", "sub:dir"],
      size: 11,
      mtime: 1700000000999,
      exists: false,
    });
  });

  it("surfaces host errors (r < 0) to the guest through the try forms", () => {
    const r = runGuest(mod, "errors", (op) => {
      switch (op) {
        case "http.request":
          return { err: { code: "denied", message: "net access to denied.test not granted" } };
        case "fs.read":
          return { err: { code: "not_found", message: "no such file: /data/none.txt" } };
        case "fs.write":
          return { err: { code: "denied", message: "read-only: /ro" } };
        case "exec":
          return { err: { code: "outcome_unknown", message: "exec ünknown ✓" } };
        case "test.custom":
          return { err: { code: "invalid", message: "custom" } };
        case "clock.now":
          return { ok: 42 };
      }
      throw new Error(`unexpected op ${op}`);
    });
    expect(r.failed).toBeUndefined();
    expect(text(r.output).split("\n")).toEqual([
      "denied|net access to denied.test not granted",
      "not_found|no such file: /data/none.txt",
      "denied|read-only: /ro",
      "outcome_unknown|exec ünknown ✓",
      "invalid|custom",
      "after:42",
    ]);
  });

  it("plain wrappers fail the run with the host error's message and code", () => {
    const r = runGuest(mod, "errorFails", () => ({ err: { code: "network", message: "connection refused" } }));
    expect(ops(r)).toEqual(["http.request", "run.fail"]);
    expect(r.failed).toEqual({ message: "connection refused", code: "network" });
    expect(r.output).toBeUndefined();
    expect(runGuest(mod, "explicitFail").failed).toEqual({ message: "nope" });
  });
});

// ---- the examples -----------------------------------------------------------------------------

describe("AssemblyScript examples", () => {
  let mods: { hello: WebAssembly.Module; effects: WebAssembly.Module; order: WebAssembly.Module };
  beforeAll(() => {
    execFileSync(process.execPath, [join(ROOT, "scripts/build-examples.mjs"), "hello", "effects", "order"], {
      cwd: ROOT,
      stdio: "pipe",
    });
    const load = (name: string) => new WebAssembly.Module(readFileSync(join(ROOT, "examples", name, "build", `${name}.wasm`)));
    mods = { hello: load("hello"), effects: load("effects"), order: load("order") };
  }, 180_000);

  it("every example imports only dwe.call, dwe.response, env.abort and exports run and memory", () => {
    for (const [name, mod] of Object.entries(mods)) {
      const imports = WebAssembly.Module.imports(mod)
        .map((i) => `${i.module}.${i.name}`)
        .sort();
      expect(imports, name).toEqual(["dwe.call", "dwe.response", "env.abort"]);
      const exports = WebAssembly.Module.exports(mod)
        .map((e) => `${e.name}:${e.kind}`)
        .sort();
      expect(exports, name).toEqual(["memory:memory", "run:function"]);
    }
  });

  it("hello greets the name from the input, or the world", () => {
    const named = runGuest(mods.hello, "run", () => undefined, '{"name":"Zoë"}');
    expect(text(named.output)).toBe('{"greeting":"hello, Zoë"}');
    expect(named.calls.find((c) => c.op === "log")!.req).toEqual({ level: "info", message: "hello, Zoë" });
    expect(text(runGuest(mods.hello, "run", () => undefined, "").output)).toBe('{"greeting":"hello, world"}');
  });

  const effectsHost: Handler = (op) => {
    switch (op) {
      case "clock.now":
        return { ok: 1700000000000 };
      case "exec":
        return { ok: { code: 0, signal: null, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), key: "k" } };
      case "http.request":
        return { ok: { status: 200, headers: {}, body: Buffer.alloc(0), key: "k" } };
      case "log":
        return undefined;
    }
    throw new Error(`unexpected op ${op}`);
  };

  it("effects issues exactly the contract's op sequence", () => {
    const input = JSON.stringify({ n: 3, file: "out/it's here.txt", url: "http://127.0.0.1:9/hit" });
    const r = runGuest(mods.effects, "run", effectsHost, input);
    expect(r.failed).toBeUndefined();
    const expected: [string, unknown][] = [["run.input", null]];
    for (let i = 0; i < 3; i++) {
      expected.push(
        ["clock.now", null],
        ["exec", { argv: ["sh", "-c", `echo ${i} >> 'out/it'\\''s here.txt'`] }],
        ["http.request", { method: "POST", url: "http://127.0.0.1:9/hit", body: Buffer.from(String(i)) }],
        ["log", { level: "info", message: `step ${i}` }],
      );
    }
    expected.push(["run.output", Buffer.from('{"steps":3}')]);
    expect(norm(r.calls.map(({ op, req }) => [op, req]))).toEqual(norm(expected));
    expect(text(r.output)).toBe('{"steps":3}');
  });

  it("effects fails the run with the message of a host error", () => {
    const input = JSON.stringify({ n: 3, file: "f.txt", url: "http://127.0.0.1:9/" });
    let posts = 0;
    const r = runGuest(
      mods.effects,
      "run",
      (op, req) => {
        if (op === "http.request" && ++posts === 2) return { err: { code: "network", message: "connection refused" } };
        return effectsHost(op, req);
      },
      input,
    );
    expect(ops(r)).toEqual(["run.input", "clock.now", "exec", "http.request", "log", "clock.now", "exec", "http.request", "run.fail"]);
    expect(r.failed).toEqual({ message: "connection refused" });
  });

  it("order charges, sleeps, ships, writes the receipt and outputs a summary", () => {
    const input = JSON.stringify({ order_id: "A-1001", amount: 42.5, payment_url: "http://pay.test/charge", delay_ms: 10 });
    const r = runGuest(
      mods.order,
      "run",
      (op, req) => {
        switch (op) {
          case "clock.now":
            return { ok: 1700000000000 };
          case "run.key":
            return { ok: "run-9:3" };
          case "run.info":
            return { ok: { id: "run-9", entry: "run" } };
          case "http.request":
            expect(req.method).toBe("POST");
            expect(JSON.parse(text(req.body))).toEqual({ order_id: "A-1001", amount: 42.5, idempotency_key: "run-9:3" });
            return { ok: { status: 200, headers: {}, body: Buffer.from('{"payment_id":"pay_1"}'), key: "run-9:3" } };
          case "exec":
            expect(req.argv).toEqual(["sh", "-c", "echo shipped 'A-1001'"]);
            return { ok: { code: 0, signal: null, stdout: Buffer.from("shipped A-1001\n"), stderr: Buffer.alloc(0), key: "run-9:6" } };
          case "sleep":
            expect(req).toEqual({ ms: 10 });
            return undefined;
          case "fs.write":
            expect(req.path).toBe("/receipts/A-1001.txt");
            return undefined;
          case "log":
            return undefined;
        }
        throw new Error(`unexpected op ${op}`);
      },
      input,
    );
    expect(r.failed).toBeUndefined();
    expect(ops(r)).toEqual([
      "run.input",
      "clock.now",
      "log",
      "run.key",
      "http.request",
      "log",
      "log",
      "sleep",
      "exec",
      "log",
      "clock.now",
      "run.info",
      "fs.write",
      "log",
      "run.output",
    ]);
    const summary: unknown = JSON.parse(text(r.output));
    expect(summary).toMatchObject({
      order_id: "A-1001",
      amount: 42.5,
      payment_id: "pay_1",
      payment_key: "run-9:3",
      shipment: "shipped A-1001",
      run_id: "run-9",
      status: "completed",
      receipt: "/receipts/A-1001.txt",
    });
    const receipt = r.calls.find((c) => c.op === "fs.write")!.req as Req;
    expect(JSON.parse(text(receipt.data))).toMatchObject({ order_id: "A-1001", shipment: "shipped A-1001" });
  });
});
