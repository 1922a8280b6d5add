// `npm run bench`: measures B1-B12 on this machine, prints a table, writes bench/results.json.
//   node dist/bench/main.js [--quick] [--only B1,B3,B1-PG] [--runs N] [--out FILE]
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Benchmark, BenchContext, Figure } from "./lib/figure.js";
import { ROOT } from "./lib/guests.js";
import { formatTable, toResults } from "./lib/report.js";
import { b1 } from "./b1-journaled-call.js";
import { b2 } from "./b2-replay.js";
import { b3 } from "./b3-effects.js";
import { b4 } from "./b4-throughput.js";
import { b5 } from "./b5-concurrency.js";
import { b6 } from "./b6-suspended.js";
import { b7 } from "./b7-cold-start.js";
import { b8 } from "./b8-journal-size.js";
import { b9 } from "./b9-recovery.js";
import { b10 } from "./b10-takeover.js";
import { b11 } from "./b11-committed-step.js";
import { b12 } from "./b12-group-commit.js";
import { b1pg, b4pg, b9pg } from "./pg-rows.js";

// The -PG rows measure B1, B4 and B9 on PostgreSQL next to SQLite (bench/pg-rows.ts; null when unreachable).
const ALL: Benchmark[] = [b1, b1pg, b2, b3, b4, b4pg, b5, b6, b7, b8, b9, b9pg, b10, b11, b12];

interface Args {
  quick: boolean;
  only: string[] | null;
  runs: number | null;
  out: string | null;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { quick: false, only: null, runs: null, out: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === "--quick") a.quick = true;
    else if (arg === "--only") a.only = value().toUpperCase().split(",");
    else if (arg === "--runs") a.runs = Math.max(1, Number.parseInt(value(), 10) || 1);
    else if (arg === "--out") a.out = value();
    else throw new Error(`unknown argument ${arg}; usage: bench [--quick] [--only B1,B2] [--runs N] [--out FILE]`);
  }
  return a;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const ctx: BenchContext = {
    quick: args.quick,
    runs: args.runs ?? (args.quick ? 1 : 5),
    log: (line) => process.stderr.write(`bench: ${line}\n`),
  };
  const chosen = args.only ? ALL.filter((b) => args.only!.includes(b.id)) : ALL;
  const figures: Figure[] = [];
  let failed = 0;
  const started = Date.now();
  for (const b of chosen) {
    const t0 = Date.now();
    ctx.log(`${b.id} ${b.title} ...`);
    try {
      const f = await b.run(ctx);
      figures.push(...f);
      for (const x of f) ctx.log(`  ${x.id} = ${x.value ?? "null"} ${x.unit} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    } catch (err) {
      failed++;
      ctx.log(`  ${b.id} FAILED: ${(err as Error).stack ?? String(err)}`);
    }
  }
  process.stdout.write(formatTable(figures) + "\n");
  const out = args.out ?? (args.quick ? null : join(ROOT, "bench", "results.json"));
  if (out) {
    writeFileSync(out, JSON.stringify(toResults(figures), null, 2) + "\n");
    ctx.log(`wrote ${out}`);
  }
  ctx.log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s${failed ? `, ${failed} benchmark(s) failed` : ""}`);
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(2);
  },
);
