// The chaos test's checks, over what was observed from outside dwe (the effects performed, the
// fault log) and what dwe says afterwards (run rows, `dwe logs`, `dwe verify`). Pure: everything
// comes in as data, every violation comes out as one line.
import { effectId, type Performance } from "./effects.js";
import type { FleetEvent } from "./fleet.js";

/** A repeat counts as explained by a fault whose process ended or resumed up to this long before it started. */
const SLACK_MS = 1_000;
/** How soon after its sender resumed an effect in flight across the stop reaches its server. */
const IN_FLIGHT_MS = 250;

export interface RunSeen {
  id: string;
  status: string | null;
  output: string | null;
  error: string | null;
  /** The messages `dwe logs RUN --json` printed, or why it failed. */
  logs: string[] | { failed: string };
  /** `dwe verify RUN --json`: exit code and output. */
  verify: { code: number | null; out: string };
  /** The lines the run's commands appended to its file. */
  fileLines: string[];
}

export interface CheckResult {
  problems: string[];
  effects: { exec: number; http: number; distinct: number };
  repeats: number;
  /** Repeats by the fault that explains them (e.g. "SIGKILL", "SIGSTOP on arrival"). */
  explained: Record<string, number>;
  unexplained: number;
}

/** The key dwe gives the effects example's effects: `<run>:<seq>`, four journal entries per step. */
function expectedKey(p: Performance): string {
  return `${p.run}:${4 * p.step + (p.kind === "exec" ? 2 : 3)}`;
}

/**
 * The fault that explains `next` repeating `prev`: one sent to the process that performed `prev`
 * (any fault when it is unknown), before `next` started, that lasted (the process stopped, or not
 * yet dead) until `prev` had started.
 */
export function explainRepeat(prev: Performance, next: Performance, events: readonly FleetEvent[]): string | null {
  for (const f of events) {
    if (f.what !== "SIGKILL" && f.what !== "SIGSTOP" && f.what !== "SIGTERM") continue;
    if (prev.pid !== null && f.pid !== prev.pid) continue;
    if (f.at > next.at) continue;
    const ends = events.find(
      (e) => e.pid === f.pid && e.at >= f.at && (e.what === "exit" || (f.what === "SIGSTOP" && e.what === "SIGCONT")),
    );
    if ((ends?.at ?? Infinity) + SLACK_MS < prev.at) continue;
    return `${f.what}${f.trigger === "arrival" ? " on arrival" : ""}${prev.pid === null ? " (performer unknown)" : ""}`;
  }
  // `next` was in flight across a stop of its own sender: started (after its fenced proof) just
  // before the process was frozen, it reached the server only once the process went on, after
  // another worker had redone it. Seen when a stop cuts a burst of requests whose connections are
  // still opening. Starting an effect after such a pause without a fresh proof is what
  // test/lease-fencing.test.ts checks, deterministically.
  for (const f of events) {
    if (f.what !== "SIGSTOP" || next.pid === null || f.pid !== next.pid || f.at > prev.at) continue;
    const cont = events.find((e) => e.pid === f.pid && e.at >= f.at && e.what === "SIGCONT");
    if (cont !== undefined && next.at >= cont.at && next.at <= cont.at + IN_FLIGHT_MS) return "SIGSTOP of its sender, in flight";
  }
  return null;
}

export function checkChaos(o: {
  expectedRuns: readonly string[];
  steps: number;
  runs: readonly RunSeen[];
  performed: readonly Performance[];
  events: readonly FleetEvent[];
}): CheckResult {
  const problems: string[] = [];
  const result: CheckResult = {
    problems,
    effects: { exec: 0, http: 0, distinct: 0 },
    repeats: 0,
    explained: {},
    unexplained: 0,
  };
  const byEffect = new Map<string, Performance[]>();
  for (const p of o.performed) {
    result.effects[p.kind]++;
    const list = byEffect.get(effectId(p)) ?? [];
    list.push(p);
    byEffect.set(effectId(p), list);
  }
  result.effects.distinct = byEffect.size;
  const seen = new Map(o.runs.map((r) => [r.id, r]));
  const want = JSON.stringify({ steps: o.steps });

  for (const id of o.expectedRuns) {
    const r = seen.get(id);
    if (!r || r.status === null) {
      problems.push(`${id}: lost (no such run in the store)`);
      continue;
    }
    if (r.status !== "completed") problems.push(`${id}: stuck or failed: status ${r.status}${r.error ? ` (${r.error})` : ""}`);
    else if (r.output !== want) problems.push(`${id}: output ${r.output}, expected ${want}`);
    if ("failed" in r.logs) problems.push(`${id}: dwe logs failed: ${r.logs.failed}`);
    else {
      const expected = Array.from({ length: o.steps }, (_, i) => `step ${i}`);
      if (JSON.stringify(r.logs) !== JSON.stringify(expected))
        problems.push(`${id}: dwe logs shows ${JSON.stringify(r.logs)}, expected each step once: ${JSON.stringify(expected)}`);
    }
    if (r.verify.code !== 0) problems.push(`${id}: dwe verify exited ${r.verify.code}: ${r.verify.out.trim().slice(0, 300)}`);

    for (let step = 0; step < o.steps; step++) {
      for (const kind of ["exec", "http"] as const) {
        const list = (byEffect.get(effectId({ run: id, kind, step })) ?? []).sort((a, b) => a.at - b.at);
        if (list.length === 0) {
          problems.push(`${id}: the ${kind} of step ${step} was never performed`);
          continue;
        }
        const first = list[0]!;
        if (first.key !== expectedKey(first))
          problems.push(`${id}: the ${kind} of step ${step} carried key ${first.key}, expected ${expectedKey(first)}`);
        for (let k = 1; k < list.length; k++) {
          const prev = list[k - 1]!;
          const next = list[k]!;
          result.repeats++;
          if (next.key !== first.key)
            problems.push(`${id}: the ${kind} of step ${step} was repeated with key ${next.key}, not the first one's ${first.key}`);
          const why = explainRepeat(prev, next, o.events);
          if (why === null) {
            result.unexplained++;
            problems.push(
              `${id}: the ${kind} of step ${step} was repeated at ${iso(next.at)} by ${next.pid ?? "?"} after ${prev.pid ?? "?"} performed it at ${iso(prev.at)}, and no fault of ${prev.pid ?? "any worker"} explains it`,
            );
          } else result.explained[why] = (result.explained[why] ?? 0) + 1;
        }
      }
      const lines = r.fileLines.filter((l) => l === String(step)).length;
      const commands = byEffect.get(effectId({ run: id, kind: "exec", step }))?.length ?? 0;
      if (lines < 1 || lines > commands)
        problems.push(`${id}: step ${step} appended ${lines} line(s) to its file for ${commands} command(s)`);
    }
  }
  const expected = new Set(o.expectedRuns);
  for (const r of o.runs) if (!expected.has(r.id)) problems.push(`${r.id}: a run nobody started`);
  for (const p of o.performed) if (!expected.has(p.run)) problems.push(`an effect of unknown run ${p.run}`);
  return result;
}

const iso = (ms: number) => new Date(ms).toISOString();
