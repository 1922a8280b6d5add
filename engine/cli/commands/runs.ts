import type { ListOptions, RunInfo, RunPage } from "../../api/types.js";
import { listFilter } from "../../api/list-runs.js";
import type { RunStatus } from "../../store/types.js";
import { existsSync } from "node:fs";
import { isPostgresUrl } from "../../store/pg-url.js";
import { type GlobalOptions, dbPath, openDwe } from "./context.js";
import { runJson, table } from "./format.js";
import { parsePositiveInt, parseTime } from "./options.js";

export interface RunsFlags extends GlobalOptions {
  status?: string;
  module?: string;
  name?: string;
  entry?: string;
  parent?: string;
  createdAfter?: string;
  createdBefore?: string;
  finishedAfter?: string;
  finishedBefore?: string;
  after?: string;
  limit?: string;
  json?: boolean;
}

const iso = (t: number | null) => (t === null ? "-" : new Date(t).toISOString());

/** The ERROR column: the code and the message's first line, shortened. */
function errorCell(r: RunInfo): string {
  if (!r.error) return "-";
  const line = `${r.error.code}: ${r.error.message.split("\n")[0] ?? ""}`;
  return line.length > 80 ? `${line.slice(0, 79)}…` : line;
}

/** `dwe runs [filters] [--after RUN] [--limit N] [--json]`: one page of runs, newest first; says when more exist. */
export async function runsCommand(flags: RunsFlags): Promise<number> {
  const now = Date.now();
  const o: ListOptions = {
    ...(flags.status !== undefined && { status: flags.status.split(",").map((s) => s.trim()) as RunStatus[] }),
    ...(flags.module !== undefined && { module: flags.module.toLowerCase() }),
    ...(flags.name !== undefined && { name: flags.name }),
    ...(flags.entry !== undefined && { entry: flags.entry }),
    ...(flags.parent !== undefined && { parentId: flags.parent }),
    ...(flags.createdAfter !== undefined && { createdAfter: parseTime(flags.createdAfter, "--created-after", now) }),
    ...(flags.createdBefore !== undefined && { createdBefore: parseTime(flags.createdBefore, "--created-before", now) }),
    ...(flags.finishedAfter !== undefined && { finishedAfter: parseTime(flags.finishedAfter, "--finished-after", now) }),
    ...(flags.finishedBefore !== undefined && { finishedBefore: parseTime(flags.finishedBefore, "--finished-before", now) }),
    ...(flags.after !== undefined && { after: flags.after }),
    limit: flags.limit === undefined ? 100 : parsePositiveInt(flags.limit, "--limit"),
  };
  // No database yet (a new directory, say): no runs, as the listing of an empty one would say.
  const db = dbPath(flags);
  const none = !isPostgresUrl(db) && !existsSync(db);
  let page: RunPage;
  if (none) {
    listFilter(o); // the flags are still checked
    page = { runs: [], next: null };
  } else {
    const dwe = await openDwe(flags, false);
    try {
      page = await dwe.list(o);
    } finally {
      await dwe.close();
    }
  }
  const { runs, next } = page;
  if (flags.json) {
    process.stdout.write(JSON.stringify(runs.map((r) => runJson(r))) + "\n");
  } else {
    const rows = [["ID", "STATUS", "NAME", "CREATED", "FINISHED", "WAKES", "ERROR"]];
    for (const r of runs) {
      const wakes = r.status === "suspended" ? (r.wakeAt === null ? "on signal/child" : iso(r.wakeAt)) : "-";
      rows.push([r.id, r.status, r.name ?? r.module.slice(0, 12), iso(r.createdAt), iso(r.finishedAt), wakes, errorCell(r)]);
    }
    process.stdout.write(table(rows));
  }
  if (next !== null) {
    process.stderr.write(`dwe: more runs exist; the next page: the same \`dwe runs\` with --after ${next}\n`);
  }
  return 0;
}
