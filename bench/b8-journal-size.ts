// B8: journal size on disk: bytes per journaled clock.now call and per HTTP call with a 1 KB
// response body, and the per-entry overhead beyond the payload (the response bytes) itself.
import Database from "better-sqlite3";
import { atMost, type Benchmark, type Figure } from "./lib/figure.js";
import { createRun, execute, putModule, tempStore } from "./lib/engine.js";
import { guest, readWasm } from "./lib/guests.js";
import { BenchServer } from "./lib/server.js";
import { round } from "./lib/stats.js";

interface Size {
  /** Journal table pages (B-tree, including free space in pages) per entry. */
  perEntry: number;
  /** Mean payload (response bytes) per entry. */
  payload: number;
  /** Cell bytes (record and key, without page slack) per entry. */
  cell: number;
}

function journalSize(path: string, rid: number, op: number): Size {
  const db = new Database(path, { readonly: true });
  try {
    const stat = db
      .prepare(
        `SELECT SUM(pgsize) AS pages, SUM(CASE WHEN pagetype = 'internal' THEN 0 ELSE payload END) AS cells,
                SUM(CASE WHEN pagetype = 'leaf' THEN ncell ELSE 0 END) AS n FROM dbstat WHERE name = 'journal'`,
      )
      .get() as { pages: number; cells: number; n: number };
    const own = db.prepare("SELECT COUNT(*) AS n, SUM(length(payload)) AS bytes FROM journal WHERE rid = ? AND op = ?").get(rid, op) as {
      n: number;
      bytes: number;
    };
    return { perEntry: stat.pages / stat.n, payload: own.bytes / own.n, cell: stat.cells / stat.n };
  } finally {
    db.close();
  }
}

/** Executes one run alone in a fresh database and measures its journal. */
async function measure(input: string, op: number, net: boolean): Promise<Size> {
  const s = tempStore();
  try {
    const sha = await putModule(s.store, readWasm(await guest("loop")));
    const run = await createRun(s.store, { module: sha, input, ...(net && { net: "127.0.0.1" }) });
    await execute(s.store, run.id);
    await s.store.close();
    return journalSize(s.path, run.rid, op);
  } finally {
    await s.close();
  }
}

export const b8: Benchmark = {
  id: "B8",
  title: "journal size",
  async run(ctx) {
    const clocks = ctx.quick ? 2_000 : 20_000;
    const calls = ctx.quick ? 50 : 500;
    const server = new BenchServer();
    server.body = Buffer.alloc(1024, 0x61);
    const url = await server.start();
    try {
      const clock = await measure(String(clocks), 4, false);
      const http = await measure(`0 ${calls} 0 ${url}`, 7, true);
      const figures: Figure[] = [];
      for (const [id, what, size, n] of [
        ["B8", `journal bytes per clock.now call (${clocks} calls)`, clock, clocks],
        ["B8-http", `journal bytes per HTTP call with a 1 KB response body (${calls} calls)`, http, calls],
      ] as const) {
        const overhead = round(size.perEntry - size.payload);
        figures.push({
          id,
          what,
          value: round(size.perEntry),
          unit: "bytes per call",
          target: "overhead < 40",
          baseline: round(size.payload),
          note:
            `journal table pages (leaf, interior, overflow) / entries (SQLite dbstat) over ${n} calls; baseline: the payload (the msgpack response ` +
            `the guest received) = ${round(size.payload)} B; per-entry overhead ${overhead} B, of which record and key ` +
            `${round(size.cell - size.payload)} B and page slack and cell pointers ${round(size.perEntry - size.cell)} B`,
          met: atMost(overhead, 39.999),
        });
      }
      return figures;
    } finally {
      await server.stop();
    }
  },
};
