// The fault schedule: for the whole window, every 1 to 3 s one of SIGKILL (40%), SIGSTOP for
// 1.25 to 2 lease TTLs then SIGCONT (35%), SIGTERM (25%), sent to a random running worker, or, for
// a quarter of them, to the worker whose HTTP request arrives next (the effect has happened, its
// result is not journaled yet: the case that makes a repeat).
import { setTimeout as delay } from "node:timers/promises";
import type { EffectsServer } from "./effects.js";
import type { Fault, Fleet } from "./fleet.js";

export interface FaultPlan {
  durationMs: number;
  leaseTtlMs: number;
  random: () => number;
}

export async function injectFaults(fleet: Fleet, server: EffectsServer, plan: FaultPlan): Promise<void> {
  const { random } = plan;
  const end = Date.now() + plan.durationMs;
  const stopFor = () => Math.round(plan.leaseTtlMs * (1.25 + 0.75 * random()));
  for (;;) {
    await delay(1000 + Math.floor(random() * 2000));
    if (Date.now() >= end) break;
    const r = random();
    const fault: Fault = r < 0.4 ? "SIGKILL" : r < 0.75 ? "SIGSTOP" : "SIGTERM";
    const cont = fault === "SIGSTOP" ? stopFor() : 0;
    if (random() < 0.25) {
      server.onArrival = (pid) => {
        if (pid !== null) fleet.inject(pid, fault, "arrival", cont);
      };
      continue;
    }
    const pid = fleet.pickRunning(random);
    if (pid !== null) fleet.inject(pid, fault, "timer", cont);
  }
  server.onArrival = null;
  fleet.contAll();
}
