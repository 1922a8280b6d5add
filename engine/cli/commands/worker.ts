import { availableParallelism } from "node:os";
import { Dwe } from "../../api/dwe.js";
import { type GlobalOptions, dbPath, parseDurability } from "./context.js";
import { parsePositiveInt } from "./options.js";
import { parseAge } from "./retention.js";
import { serve, type DweServer } from "../../server/server.js";
import { metricsAddress } from "./metrics-flag.js";

export interface WorkerFlags extends GlobalOptions {
  concurrency?: string;
  threads?: string;
  leaseTtl?: string;
  poll?: string;
  watchdog?: string;
  grace?: string;
  suspendAfter?: string;
  maxCrashes?: string;
  retention?: string;
  quiet?: boolean;
  metrics?: string;
  metricsToken?: string;
}

/** A flag, else an environment variable, else the default; each checked as a positive whole number. */
function num(flag: string | undefined, name: string, env: string, def: number): number {
  if (flag !== undefined) return parsePositiveInt(flag, name);
  const e = process.env[env];
  if (e !== undefined && e !== "") return parsePositiveInt(e, env);
  return def;
}

/**
 * `dwe worker`: executes pending runs, wakes suspended ones when due, takes over runs whose worker
 * died (expired lease), fires schedules. SIGTERM/SIGINT: graceful stop, exit 0 (docs/worker.md).
 */
export async function workerCommand(flags: WorkerFlags): Promise<number> {
  const concurrency = num(flags.concurrency, "--concurrency", "DWE_CONCURRENCY", 100);
  const threads = Math.min(concurrency, num(flags.threads, "--threads", "DWE_THREADS", Math.min(4, availableParallelism())));
  const leaseTtlMs = num(flags.leaseTtl, "--lease-ttl", "DWE_LEASE_TTL_MS", 30_000);
  const pollMs = num(flags.poll, "--poll", "DWE_POLL_MS", 250);
  const watchdogMs = num(flags.watchdog, "--watchdog", "DWE_WATCHDOG_MS", 60_000);
  const graceMs = num(flags.grace, "--grace", "DWE_SHUTDOWN_GRACE_MS", 10_000);
  const suspendAfterMs = num(flags.suspendAfter, "--suspend-after", "DWE_SUSPEND_AFTER_MS", 10_000);
  const maxCrashes = num(flags.maxCrashes, "--max-crashes", "DWE_MAX_CRASHES", 5);
  const retentionMs = flags.retention === undefined ? undefined : parseAge(flags.retention, "--retention", true);
  const metrics =
    flags.metrics === undefined ? null : metricsAddress(flags.metrics, flags.metricsToken ?? (process.env.DWE_METRICS_TOKEN || undefined));
  const dwe = await Dwe.open({ db: dbPath(flags), durability: parseDurability(flags.durability), metrics: metrics !== null });
  const log = flags.quiet ? () => undefined : (line: string) => process.stderr.write(`dwe worker: ${line}\n`);
  const worker = await dwe.worker({
    concurrency,
    threads,
    leaseTtlMs,
    pollMs,
    suspendAfterMs,
    watchdogMs,
    graceMs,
    maxCrashes,
    ...(retentionMs !== undefined && { retentionMs }),
    stopAfterClaim: process.env.DWE_TEST_STOP_AFTER_CLAIM === "1",
    log,
  });
  let endpoint: DweServer | null = null;
  if (metrics) {
    try {
      endpoint = await serve(dwe, {
        listen: metrics.listen,
        ...(metrics.token !== undefined && { token: metrics.token }),
        api: false,
        metrics: true,
        log,
      });
    } catch (err) {
      await worker.stop();
      await dwe.close();
      throw err;
    }
    // The bound address (the real port when 0 was asked for), for whoever scrapes.
    process.stdout.write(`${endpoint.url}/metrics\n`);
    log(`metrics on ${endpoint.url}/metrics${metrics.token !== undefined ? " (bearer token required)" : ""}`);
  }
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (++signals > 1) {
      process.stderr.write(`dwe worker: ${sig} again: exiting now; runs in flight are taken over when their leases expire\n`);
      process.exit(130);
    }
    log(`${sig}: stopping: no new work; ${worker.inFlight} run(s) stop at their next host call (grace ${graceMs} ms)`);
    void worker.stop();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  log(
    `${worker.owner} started on ${dwe.location}: ${threads} thread(s), concurrency ${concurrency}, lease ${leaseTtlMs} ms, poll ${pollMs} ms`,
  );
  try {
    await worker.done;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await endpoint?.close();
    await dwe.close();
  }
  log("stopped");
  return 0;
}
