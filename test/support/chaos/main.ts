// `npm run chaos` (docs/reliability.md, "Chaos"): the chaos test of issue 10 on SQLite and on
// PostgreSQL. Prints one summary line per store and, last, one JSON line with every count; exit 0
// when every check held on every store, 1 when one failed (the violations are listed on stderr and
// the directory is kept), 2 for bad flags or a store that cannot be reached.
import { pgUnreachable, PG_ADMIN_URL } from "../postgres.js";
import { runChaos, type StoreReport } from "./chaos.js";
import { ChaosUsageError, parseChaosArgs, type ChaosOptions } from "./options.js";

function summary(r: StoreReport): string {
  const why = Object.entries(r.explained)
    .map(([k, n]) => `${n} ${k}`)
    .join(", ");
  return (
    `chaos ${r.store}: ${r.ok ? "ok" : "FAILED"}: runs ${r.completed}/${r.runs} completed (${r.steps} steps each), ` +
    `${r.workers} workers (${r.workerProcesses} processes), faults: ${r.faults.SIGKILL} SIGKILL, ${r.faults.SIGSTOP} SIGSTOP, ` +
    `${r.faults.SIGTERM} SIGTERM (${r.faults.onArrival} as a request arrived); effects performed ${r.effects.exec} exec + ` +
    `${r.effects.http} http for ${r.effects.distinct} distinct; repeats ${r.repeats}` +
    (r.repeats > 0 ? ` (explained: ${why || "none"}; unexplained ${r.unexplained})` : "") +
    `; seed ${r.seed}, ${r.seconds} s`
  );
}

async function main(): Promise<number> {
  let o: ChaosOptions;
  try {
    o = parseChaosArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof ChaosUsageError)) throw err;
    process.stderr.write(`chaos: error: ${err.message}\n`);
    return 2;
  }
  if (o.stores.includes("postgres")) {
    const why = await pgUnreachable();
    if (why !== null) {
      process.stderr.write(
        `chaos: error: PostgreSQL at ${PG_ADMIN_URL} is unreachable (${why}); start it (scripts/ensure-postgres.sh), set DWE_TEST_PG_URL, or run with --store sqlite\n`,
      );
      return 2;
    }
  }
  const reports: StoreReport[] = [];
  for (const store of o.stores) {
    const r = await runChaos(store, o, (line) => process.stderr.write(`chaos ${store}: ${line}\n`));
    reports.push(r);
    process.stdout.write(summary(r) + "\n");
    if (!r.ok)
      process.stderr.write(
        `chaos ${store}: ${r.problems.length} problem(s):\n${r.problems.slice(0, 60).join("\n")}\n(kept ${r.kept ?? "nothing"})\n`,
      );
    else if (r.kept) process.stdout.write(`kept ${r.kept}\n`);
  }
  const ok = reports.every((r) => r.ok);
  process.stdout.write(JSON.stringify({ ok, stores: reports }) + "\n");
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`chaos: error: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(2);
  },
);
