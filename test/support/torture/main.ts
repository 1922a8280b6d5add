// Crash-consistency torture (`npm run torture`, docs/reliability.md). Starts many runs of the
// effects examples (AssemblyScript and Rust, same contract) at once on one database, SIGKILLs the
// engine at random moments (small random delays land inside SQLite commits; some kills hit the
// moment an HTTP request arrives, between the effect and its journal entry), resumes, and repeats
// until the kill budget is spent and every run has completed. Then it checks:
//   - no run lost, every run completed with output {"steps":N};
//   - each effect (exec, HTTP) happened exactly once, or repeated at most once per kill of its run
//     while it was in flight, every repeat with the same idempotency key (<run>:<seq>);
//   - no gap in any journal, no intent left, every entry's checksum (`dwe verify`) and replay ok;
//   - PRAGMA integrity_check is ok; no command ever reported "database is locked".
// It prints the counts: runs, kills, resumes, effects checked, repeats.
//
// Usage: node dist/test/support/torture/main.js [--runs 24] [--steps 6] [--kills 120] [--seed N] [--min-delay MS] [--max-delay MS] [--keep]
// (a kill is scheduled min-delay + random(max-delay) ms after a command starts, for 60% of commands;
// a quarter of the HTTP requests that arrive kill their run's process before being answered)
// Exit 0 when every check holds, 1 otherwise (the violations are listed).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { effectsRunFlags } from "../effects-run.js";
import { DweProcess, REPO_ROOT, attemptEnd, dweToEnd, recordedCommands, recordingShell, type DweWhere } from "../kill-resume.js";

const MODULES = [
  join(REPO_ROOT, "examples", "effects", "build", "effects.wasm"),
  join(REPO_ROOT, "examples", "effects-rust", "build", "effects-rust.wasm"),
].filter((m) => existsSync(m));

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}
const RUNS = flag("runs", 24);
const STEPS = flag("steps", 6);
const KILLS = flag("kills", 120);
const MAX_DELAY = flag("max-delay", 1200);
const MIN_DELAY = flag("min-delay", 250);
const SEED = flag("seed", Date.now() % 2 ** 31);
const KEEP = process.argv.includes("--keep");

// A small deterministic PRNG (mulberry32), so a failing seed can be replayed.
let state = SEED >>> 0;
function random(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const dir = mkdtempSync(join(tmpdir(), "dwe-torture-"));
const db = join(dir, "dwe.db");
// An `sh` first on PATH that does the real work, then records the command's idempotency key.
const shell = recordingShell(dir, { record: "after" });
// The commands run in the granted directory `files` (never dwe's own working directory).
mkdirSync(join(dir, "files"));
const where: DweWhere = { db, cwd: dir, env: shell.env };

const counts = { runs: RUNS, kills: 0, killsOnArrival: 0, resumes: 0, effectsChecked: 0, repeats: 0 };
const problems: string[] = [];

interface Run {
  id: string;
  module: string;
  kills: number;
  attempts: number;
  created: boolean;
  done: boolean;
  proc: DweProcess | null;
}
const runs = new Map<string, Run>();
/** HTTP requests received: run id -> [{body, key}]. */
const received = new Map<string, { body: string; key: string | undefined }[]>();

const server = http.createServer((req, res) => {
  let body = "";
  req.on("data", (c: Buffer) => (body += c.toString()));
  req.on("end", () => {
    const id = (req.url ?? "/").slice(1);
    const list = received.get(id) ?? [];
    list.push({ body, key: req.headers["idempotency-key"] as string | undefined });
    received.set(id, list);
    const r = runs.get(id);
    // Some kills land exactly here: the effect has happened, its journal entry is not written yet.
    if (r?.proc && counts.kills < KILLS && random() < 0.25) {
      counts.killsOnArrival++;
      kill(r);
    }
    const answer = () => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("ok");
    };
    if (random() < 0.3) setTimeout(answer, Math.floor(random() * 30));
    else answer();
  });
});
await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

function kill(r: Run): void {
  if (!r.proc?.kill("SIGKILL")) return;
  counts.kills++;
  r.kills++;
}

async function attemptRun(r: Run): Promise<void> {
  const verb = r.created ? "resume" : "run";
  const args =
    verb === "run"
      ? ["run", r.module, "--quiet", ...effectsRunFlags(r.id, { n: STEPS, file: `out-${r.id}.txt`, url: base + r.id })]
      : ["resume", r.id, "--quiet"];
  if (r.created) counts.resumes++;
  r.created = true;
  r.attempts++;
  const proc = new DweProcess(args, where);
  r.proc = proc;
  let timer: NodeJS.Timeout | null = null;
  if (counts.kills < KILLS && random() < 0.6) {
    // Node starts in ~250 ms; the delays then spread over loading, replay, commits and effects.
    timer = setTimeout(() => kill(r), MIN_DELAY + Math.floor(random() * MAX_DELAY));
  }
  const ended = await proc.ended;
  if (timer) clearTimeout(timer);
  r.proc = null;
  if (/database is locked/i.test(ended.stderr)) problems.push(`${r.id}: a command reported "database is locked": ${ended.stderr.trim()}`);
  switch (attemptEnd(verb, ended)) {
    case "completed":
    case "ended-before": // the previous kill landed after its completion was recorded (the output is checked below)
      r.done = true;
      break;
    case "not-created": // killed before `dwe run` created it: start it again
      r.created = false;
      break;
    case "killed":
    case "held": // a process that may be alive still holds it: try again
      break;
    case "failed":
      problems.push(`${r.id}: ${verb} exited ${ended.code}: ${ended.stderr.trim()}`);
  }
}

async function drive(r: Run): Promise<void> {
  while (!r.done) {
    if (r.attempts > 200) {
      problems.push(`${r.id}: not completed after 200 attempts`);
      return;
    }
    await attemptRun(r);
    if (problems.length > 20) return;
  }
}

const started = Date.now();
for (let i = 0; i < RUNS; i++) {
  const id = `t${i}`;
  runs.set(id, { id, module: MODULES[i % MODULES.length]!, kills: 0, attempts: 0, created: false, done: false, proc: null });
}
await Promise.all([...runs.values()].map((r) => drive(r)));
server.closeAllConnections();
server.close();

// ---- checks ----
const sql = new Database(db, { readonly: true });
const integrity = sql.pragma("integrity_check", { simple: true }) as string;
if (integrity !== "ok") problems.push(`PRAGMA integrity_check: ${integrity}`);
const stored = sql.prepare("SELECT rid, id, status, output FROM runs").all() as {
  rid: number;
  id: string;
  status: string;
  output: Buffer | null;
}[];
if (stored.length !== RUNS) problems.push(`${stored.length} runs in the database, expected ${RUNS}`);
const execs = recordedCommands(shell.log);
for (const row of stored) {
  const r = runs.get(row.id);
  if (!r) {
    problems.push(`unexpected run ${row.id}`);
    continue;
  }
  if (row.status !== "completed") problems.push(`${row.id}: status ${row.status}`);
  else if (Buffer.from(row.output ?? []).toString() !== JSON.stringify({ steps: STEPS }))
    problems.push(`${row.id}: output ${String(row.output)}`);
  const seqs = sql.prepare("SELECT seq, state FROM journal WHERE rid = ? ORDER BY seq").all(row.rid) as { seq: number; state: number }[];
  if (seqs.length !== 4 * STEPS + 1) problems.push(`${row.id}: ${seqs.length} journal entries, expected ${4 * STEPS + 1}`);
  seqs.forEach((e, i) => {
    if (e.seq !== i + 1) problems.push(`${row.id}: journal gap at seq ${i + 1}`);
    if (e.state === 0) problems.push(`${row.id}: intent left at seq ${e.seq}`);
  });
  // Effects: each exactly once, or repeated (same key) at most once per kill of this run.
  let repeats = 0;
  const requests = received.get(row.id) ?? [];
  const file = join(dir, "files", `out-${row.id}.txt`);
  const fileLines = existsSync(file)
    ? readFileSync(file, "utf8")
        .split("\n")
        .filter((l) => l !== "")
    : [];
  for (let i = 0; i < STEPS; i++) {
    const hits = requests.filter((h) => h.body === String(i));
    const commands = execs.filter((c) => c.script === `echo ${i} >> 'out-${row.id}.txt'`);
    const lines = fileLines.filter((l) => l === String(i));
    const effects: [string, (string | null | undefined)[], string][] = [
      ["http", hits.map((h) => h.key), `${row.id}:${4 * i + 3}`],
      ["exec", commands.map((c) => c.key), `${row.id}:${4 * i + 2}`],
    ];
    for (const [what, keys, want] of effects) {
      counts.effectsChecked++;
      if (keys.length === 0) problems.push(`${row.id}: ${what} of step ${i} never happened`);
      for (const k of keys) if (k !== want) problems.push(`${row.id}: ${what} of step ${i} had key ${k}, expected ${want}`);
      repeats += Math.max(0, keys.length - 1);
    }
    if (lines.length !== commands.length)
      problems.push(`${row.id}: step ${i} appended ${lines.length} lines but ran ${commands.length} times`);
  }
  counts.repeats += repeats;
  if (repeats > r.kills) problems.push(`${row.id}: ${repeats} repeated effects but only ${r.kills} kills`);
}
sql.close();

// Every journal replays cleanly against its module, checksums included (read-only).
const verified = await Promise.all(stored.map(async (row) => ({ id: row.id, ...(await dweToEnd(["verify", row.id, "--json"], where)) })));
for (const v of verified) if (v.code !== 0) problems.push(`${v.id}: dwe verify exited ${v.code}: ${v.stdout.trim()}`);

const seconds = ((Date.now() - started) / 1000).toFixed(1);
process.stdout.write(
  `torture: runs ${counts.runs}, kills ${counts.kills} (${counts.killsOnArrival} as an HTTP request arrived), resumes ${counts.resumes}, ` +
    `effects checked ${counts.effectsChecked}, repeats ${counts.repeats}; modules ${MODULES.length}, steps ${STEPS}, seed ${SEED}, ${seconds} s\n`,
);
process.stdout.write(
  JSON.stringify({ ...counts, modules: MODULES.length, steps: STEPS, seed: SEED, seconds: Number(seconds), ok: problems.length === 0 }) +
    "\n",
);
if (problems.length > 0) {
  process.stderr.write(`torture: ${problems.length} problem(s):\n${problems.slice(0, 50).join("\n")}\n(database kept in ${dir})\n`);
  process.exit(1);
}
if (!KEEP) rmSync(dir, { recursive: true, force: true });
else process.stdout.write(`kept ${dir}\n`);
