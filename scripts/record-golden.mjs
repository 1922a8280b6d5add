#!/usr/bin/env node
// Records a set of golden journals: a SQLite database and an exported run file written by today's
// dwe, for test/golden-journals.test.ts to replay and resume with every later version (docs/reliability.md,
// "Golden journals"). Never run by the tests, and never rerun over a committed set: a set is what
// one version wrote, so a new format gets a new set beside the old ones.
//
//   node scripts/record-golden.mjs v2       # writes test/fixtures/golden/v2/ (refuses an existing one)
//
// Needs dist/ and the examples built (node scripts/prepare.mjs). Takes a minute or two.
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";

const ROOT = resolve(import.meta.dirname, "..");
const DWE = join(ROOT, "bin", "dwe.js");
// engine/kernel/ops.ts and engine/journal/entry.ts as this version has them.
const SLEEP_OP = 6;
const INTENT = 0;
const example = (name) => join(ROOT, "examples", name, "build", `${name}.wasm`);

const set = process.argv[2];
if (!set || !/^v\d+$/.test(set)) {
  console.error("usage: node scripts/record-golden.mjs vN   (the name of a new set, e.g. v2)");
  process.exit(2);
}
const out = join(ROOT, "test", "fixtures", "golden", set);
if (existsSync(out)) {
  console.error(`record-golden: ${out} exists; a recorded set is never regenerated: name a new one`);
  process.exit(2);
}
for (const name of ["hello", "effects", "order", "rust-std", "worker"]) {
  if (!existsSync(example(name))) {
    console.error(`record-golden: ${example(name)} is missing; run node scripts/prepare.mjs first`);
    process.exit(2);
  }
}

const base = mkdtempSync(join(tmpdir(), "dwe-golden-"));
const db = join(base, "golden.db");
const dir = (name) => {
  const d = join(base, name);
  mkdirSync(d, { recursive: true });
  return d;
};

/** `dwe ARGS` to its end (asynchronously: this process serves HTTP meanwhile); fails the recording unless it exits with `code`. */
function dwe(args, code = 0) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [DWE, "--db", db, ...args], { cwd: base, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (c) => (output += c));
    child.stderr.on("data", (c) => (output += c));
    child.on("close", (status) => {
      if (status === code) resolvePromise(output);
      else reject(new Error(`dwe ${args.join(" ")}: exit ${status} (wanted ${code})\n${output}`));
    });
  });
}

// The payment service of `order` and the endpoint of `effects`.
const server = createServer((req, res) => {
  req.resume();
  req.on("end", () => res.end('{"payment_id":"pay_golden"}'));
});
await new Promise((r) => server.listen(0, "127.0.0.1", () => r(undefined)));
const url = `http://127.0.0.1:${server.address().port}`;

try {
  // Completed runs (the test verifies each).
  await dwe(["run", example("hello"), "--id", "hello", "--input", '{"name":"golden"}']);
  const effectsDir = dir("effects");
  await dwe(
    ["run", example("effects"), "--id", "effects", "--allow-shell", "--dir", effectsDir, "--allow-net", "127.0.0.1"].concat([
      "--input",
      JSON.stringify({ n: 3, file: "effects.txt", url: `${url}/hit` }),
    ]),
  );
  const orderInput = (id, delay) => JSON.stringify({ order_id: id, amount: 42.5, payment_url: `${url}/pay`, delay_ms: delay });
  await dwe(
    ["run", example("order"), "--id", "order", "--allow-net", "127.0.0.1", "--allow-shell"].concat([
      "--dir",
      `${dir("order-receipts")}:/receipts`,
      "--input",
      orderInput("A-1", 50),
    ]),
  );
  await dwe(["run", example("rust-std"), "--id", "rust-std", "--dir", `${dir("rust-std-data")}:/data`, "--", "/data/out.txt", "3"]);

  // Suspended waiting for its second signal (the first one consumed).
  await dwe(["run", example("worker"), "--entry", "signals", "--id", "signals", "--input", '{"name":"go","count":2}'], 75);
  await dwe(["signal", "signals", "go", "--data", '{"n":1}']);
  await dwe(["resume", "signals"], 75);

  // A WASI program suspended in a sleep (poll_oneoff) after its first step; its file so far is kept.
  const suspendedData = dir("rust-std-suspended-data");
  await dwe(
    ["run", example("rust-std"), "--id", "rust-std-suspended", "--suspend-after", "10"].concat([
      "--dir",
      `${suspendedData}:/data`,
      "--",
      "/data/out.txt",
      "4",
    ]),
    75,
  );

  // Killed (SIGKILL) in the middle of its sleep: the payment is journaled, the sleep's intent in flight.
  const child = spawn(
    process.execPath,
    [DWE, "--db", db, "run", example("order"), "--id", "order-killed"]
      .concat(["--allow-net", "127.0.0.1", "--allow-shell", "--dir", `${dir("order-killed-receipts")}:/receipts`])
      .concat(["--input", orderInput("A-2", 8000)]),
    { cwd: base, stdio: "ignore" },
  );
  const sleepInFlight = () => {
    const conn = new Database(db, { readonly: true, fileMustExist: true });
    try {
      conn.pragma("busy_timeout = 5000");
      return conn
        .prepare("SELECT j.op, j.state FROM journal j JOIN runs r ON r.rid = j.rid WHERE r.id = 'order-killed' ORDER BY j.seq DESC LIMIT 1")
        .all()
        .some((e) => e.op === SLEEP_OP && e.state === INTENT);
    } catch {
      return false; // not created yet
    } finally {
      conn.close();
    }
  };
  const until = Date.now() + 120_000;
  while (!(existsSync(db) && sleepInFlight())) {
    if (Date.now() > until) throw new Error("order-killed never reached its sleep");
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill("SIGKILL");
  await new Promise((r) => child.on("exit", r));
  await dwe(["export", "order-killed", "-o", join(base, "order-killed.dwe")]);

  mkdirSync(out, { recursive: true });
  // One self-contained file (no -wal/-shm beside it).
  const conn = new Database(db, { fileMustExist: true });
  try {
    conn.exec(`VACUUM INTO '${join(out, "golden.db").replaceAll("'", "''")}'`);
  } finally {
    conn.close();
  }
  cpSync(join(base, "order-killed.dwe"), join(out, "order-killed.dwe"));
  cpSync(suspendedData, join(out, "rust-std-suspended-data"), { recursive: true });
  const version = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;
  const commit = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).stdout.trim();
  console.log(`record-golden: wrote ${out} (dwe ${version}, commit ${commit})`);
} finally {
  server.close();
  rmSync(base, { recursive: true, force: true });
}
