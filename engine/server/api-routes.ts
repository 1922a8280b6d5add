// The endpoints of the HTTP API (docs/http-api.md), each a thin use of one library call.
import type { Dwe } from "../api/dwe.js";
import { checkRunId } from "../api/run-id.js";
import { checkScheduleName } from "../api/schedules.js";
import { journalJson, logLineJson, runDetailsJson, runJson, scheduleJson } from "../api/run-json.js";
import type { ScheduleUpdate } from "../api/types.js";
import { readJson } from "./body.js";
import { object, onlyFields, optBool, optInt, optString } from "./fields.js";
import { HttpError, badRequest } from "./http-error.js";
import { listQuery } from "./list-query.js";
import { streamLogs } from "./log-stream.js";
import { type JsonReply, type RequestContext, Router } from "./router.js";
import { grants, scheduleRequest, startRequest } from "./start-request.js";

export interface ApiOptions {
  maxBodyBytes: number;
  /** How often a followed log stream looks for new lines (ms). */
  pollMs: number;
}

const ok = (body: unknown, status = 200, headers?: Record<string, string>): JsonReply => ({ status, body, ...(headers && { headers }) });

/** The run id of the path, checked as `dwe` checks ids (400, not a lookup, for a malformed one). */
function runId(c: RequestContext): string {
  const id = c.params.id ?? "";
  try {
    return checkRunId(id);
  } catch (err) {
    throw badRequest((err as Error).message, "bad_run_id");
  }
}

function flag(c: RequestContext, name: string): boolean {
  const v = c.query.get(name);
  if (v === null || v === "0" || v === "false") return false;
  if (v === "" || v === "1" || v === "true") return true;
  throw badRequest(`bad ${name} '${v}': use 1 or 0`);
}

function onlyQuery(c: RequestContext, allowed: readonly string[]): void {
  for (const k of c.query.keys()) {
    if (!allowed.includes(k)) throw badRequest(`unknown query parameter '${k}'${allowed.length ? `; known: ${allowed.join(", ")}` : ""}`);
  }
}

async function schedule(dwe: Dwe, name: string) {
  const s = (await dwe.listSchedules()).find((x) => x.name === name);
  if (!s) throw new HttpError(404, "schedule_not_found", `no schedule named '${name}'; list them with GET /api/schedules`);
  return s;
}

function scheduleName(c: RequestContext): string {
  try {
    return checkScheduleName(c.params.name ?? "");
  } catch (err) {
    throw badRequest((err as Error).message, "bad_schedule_name");
  }
}

export function apiRoutes(dwe: Dwe, o: ApiOptions): Router {
  const body = (c: RequestContext) => readJson(c.req, o.maxBodyBytes);
  return new Router()
    .on("GET", "/api/runs", async (c) => {
      const page = await dwe.list(listQuery(c.query, Date.now()));
      return ok({ runs: page.runs.map((r) => runJson(r)), next: page.next });
    })
    .on("POST", "/api/runs", async (c) => {
      onlyQuery(c, []);
      const { module, options } = startRequest(await body(c));
      const run = await dwe.start(module, options);
      return ok(runJson(await run.info()), 201, { Location: `/api/runs/${encodeURIComponent(run.id)}` });
    })
    .on("GET", "/api/runs/:id", async (c) => {
      onlyQuery(c, []);
      return ok(runDetailsJson(await dwe.show(runId(c))));
    })
    .on("GET", "/api/runs/:id/journal", async (c) => {
      onlyQuery(c, ["from", "full"]);
      const id = runId(c);
      const from = c.query.get("from");
      if (from !== null && !/^\d{1,15}$/.test(from)) throw badRequest(`bad from '${from}': expected a journal seq (a whole number from 1)`);
      return ok(journalJson(await dwe.journalView(id, { ...(from !== null && { from: Number(from) }), full: flag(c, "full") })));
    })
    .on("GET", "/api/runs/:id/logs", async (c) => {
      onlyQuery(c, ["follow", "all"]);
      const id = runId(c);
      const follow = flag(c, "follow");
      const all = flag(c, "all");
      await dwe.get(id); // 404 as JSON before a stream opens
      if (follow) {
        await streamLogs(dwe, id, c.res, c.signal, o.pollMs, all);
        return undefined;
      }
      const lines = [];
      for await (const l of dwe.logs(id, { all })) lines.push(logLineJson(l, true));
      return ok({ run: id, lines });
    })
    .on("POST", "/api/runs/:id/signals/:name", async (c) => {
      onlyQuery(c, []);
      const id = runId(c);
      const name = c.params.name ?? "";
      const data = await body(c);
      // The JSON value as its text, as `dwe signal --data` stores it; no body: no data.
      const signal = await dwe.signal(id, name, data === undefined ? new Uint8Array(0) : JSON.stringify(data));
      return ok({ id: signal, run: id, name }, 201);
    })
    .on("POST", "/api/runs/:id/cancel", async (c) => {
      onlyQuery(c, []);
      const id = runId(c);
      await body(c);
      return ok(await dwe.cancel(id));
    })
    .on("POST", "/api/runs/:id/retry", async (c) => {
      onlyQuery(c, []);
      const id = runId(c);
      const what = "the body of POST /api/runs/ID/retry";
      const b = object((await body(c)) ?? {}, what);
      onlyFields(b, ["from", "grants", "widen_grants"], what);
      const from = optInt(b, "from");
      const g = grants(b.grants);
      // Cut and left pending: the server executes nothing itself, a worker continues the run.
      const run = await dwe.retry(id, {
        detach: true,
        ...(from !== undefined && { fromSeq: from }),
        ...(g && { grants: g }),
        ...(optBool(b, "widen_grants") === true && { widenGrants: true }),
      });
      return ok(runJson(run));
    })
    .on("POST", "/api/runs/:id/fork", async (c) => {
      onlyQuery(c, []);
      const id = runId(c);
      const b = object((await body(c)) ?? {}, "the body of POST /api/runs/ID/fork");
      onlyFields(b, ["at", "id", "detach"], "the body of POST /api/runs/ID/fork");
      const at = optInt(b, "at");
      const newId = optString(b, "id");
      const run = await dwe.fork(id, {
        ...(at !== undefined && { at }),
        ...(newId !== undefined && { id: newId }),
        detach: optBool(b, "detach") ?? true,
      });
      return ok(runJson(await run.info()), 201, { Location: `/api/runs/${encodeURIComponent(run.id)}` });
    })
    .on("POST", "/api/runs/:id/terminate", async (c) => {
      onlyQuery(c, []);
      const id = runId(c);
      await body(c);
      return ok(await dwe.terminate(id));
    })
    .on("GET", "/api/schedules", async (c) => {
      onlyQuery(c, []);
      return ok({ schedules: (await dwe.listSchedules()).map(scheduleJson) });
    })
    .on("POST", "/api/schedules", async (c) => {
      onlyQuery(c, []);
      const { name, module, options } = scheduleRequest(await body(c));
      await dwe.addSchedule(name, module, options);
      return ok(scheduleJson(await schedule(dwe, name)), 201, { Location: `/api/schedules/${encodeURIComponent(name)}` });
    })
    .on("GET", "/api/schedules/:name", async (c) => ok(scheduleJson(await schedule(dwe, scheduleName(c)))))
    .on("PATCH", "/api/schedules/:name", async (c) => {
      const name = scheduleName(c);
      const b = object((await body(c)) ?? null, "the body of PATCH /api/schedules/NAME");
      onlyFields(b, ["cron", "tz", "input"], "the body of PATCH /api/schedules/NAME");
      await schedule(dwe, name);
      const cron = optString(b, "cron");
      const tz = b.tz === null ? null : optString(b, "tz");
      const update: ScheduleUpdate = {
        ...(cron !== undefined && { cron }),
        ...(tz !== undefined && { tz }),
        ...(b.input !== undefined && { input: b.input }),
      };
      return ok(scheduleJson(await dwe.updateSchedule(name, update)));
    })
    .on("DELETE", "/api/schedules/:name", async (c) => {
      const name = scheduleName(c);
      await schedule(dwe, name);
      await dwe.removeSchedule(name);
      return ok({ name, removed: true });
    })
    .on("POST", "/api/schedules/:name/pause", async (c) => {
      const name = scheduleName(c);
      await schedule(dwe, name);
      return ok(scheduleJson(await dwe.pauseSchedule(name)));
    })
    .on("POST", "/api/schedules/:name/resume", async (c) => {
      const name = scheduleName(c);
      await schedule(dwe, name);
      return ok(scheduleJson(await dwe.resumeSchedule(name)));
    });
}
