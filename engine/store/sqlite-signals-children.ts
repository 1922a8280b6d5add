import type Database from "better-sqlite3";
import { LeaseLost } from "../kernel/errors.js";
import { type RunRow, type SignalRow, toRecord, toSignal } from "./rows.js";
import { checkExistingChild, checkSignalable } from "./rules.js";
import { type Statements, insertRunParams, mustGet } from "./sqlite-statements.js";
import { TREE_SQL, type TreeCounts, checkChildLimits } from "./child-limits.js";
import type { Lease, NewRun, RunRecord, SignalRecord } from "./types.js";

// Signals sent to runs and taken by them, and child runs created under a parent's lease.

export function sendSignal(db: Database.Database, stmt: Statements, runId: string, name: string, data: Uint8Array): number {
  const send = db.transaction((): number => {
    const run = mustGet(stmt, runId);
    checkSignalable(runId, run.status);
    const id = Number(stmt.insertSignal.run(run.rid, name, data, Date.now()).lastInsertRowid);
    stmt.wake.run(run.rid);
    return id;
  });
  return send.immediate();
}

export function takeSignal(db: Database.Database, stmt: Statements, lease: Lease, name: string, seq: number): SignalRecord | undefined {
  const take = db.transaction((): SignalRecord | undefined => {
    if (stmt.leaseToken.get(lease.rid) !== lease.token) throw new LeaseLost(lease.runId);
    const done = stmt.signalBySeq.get(lease.rid, seq) as SignalRow | undefined;
    if (done) return toSignal(done);
    const next = stmt.nextSignal.get(lease.rid, name) as SignalRow | undefined;
    if (!next) return undefined;
    stmt.consumeSignal.run(seq, next.id);
    return { ...toSignal(next), consumedSeq: seq };
  });
  return take.immediate();
}

export function createChild(db: Database.Database, stmt: Statements, lease: Lease, child: NewRun): RunRecord {
  const create = db.transaction((): RunRecord => {
    if (stmt.leaseToken.get(lease.rid) !== lease.token) throw new LeaseLost(lease.runId);
    const existing = stmt.getRun.get(child.id) as RunRow | undefined;
    if (existing) {
      checkExistingChild(child.id, existing.parent_id, lease.runId);
      return toRecord(existing);
    }
    checkChildLimits(lease.runId, treeCounts(db, lease.runId), child.config.childLimits);
    stmt.insertRun.run(insertRunParams(child));
    return mustGet(stmt, child.id);
  });
  return create.immediate();
}

/** Counted inside createChild's immediate transaction, so concurrent creators in one tree are serialized. */
function treeCounts(db: Database.Database, parent: string): TreeCounts {
  const q = (sql: string) => db.prepare(sql.replace(/\$1/g, "?")).pluck();
  const up = db.prepare(TREE_SQL.up.replace(/\$1/g, "?")).get(parent) as { id: string; depth: number };
  return {
    parentDepth: up.depth,
    children: q(TREE_SQL.children).get(parent) as number,
    descendants: q(TREE_SQL.descendants).get(up.id) as number,
  };
}
