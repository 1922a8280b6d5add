import type { RunConfig } from "../../store/types.js";
import { DEFAULT_CHILD_LIMITS } from "../../store/child-limits.js";
import { DEFAULT_MAX_MEMORY } from "../../runtime/module-loader.js";
import { DEFAULT_MAX_JOURNAL_BYTES, DEFAULT_MAX_JOURNAL_ENTRIES } from "../../executor/journal-writer.js";
import type { OwnerInfo, RunDetails, WaitInfo } from "../../api/types.js";
import { describeGrants } from "../../kernel/grants.js";

export { bytesForJson, runDetailsJson, runJson, scheduleJson } from "../../api/run-json.js";

export function bytesAsText(bytes: Uint8Array | null): string {
  if (bytes === null) return "";
  return Buffer.from(bytes).toString("utf8");
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

/** `dwe show`: every fact `dwe show --json` has, one per line. */
export function runText(d: RunDetails): string {
  const { run, journal } = d;
  const lines = [
    `run       ${run.id}`,
    `status    ${run.status}${run.wakeAt !== null && run.status === "suspended" ? ` until ${iso(run.wakeAt)}` : ""}`,
    `module    ${run.name !== null ? `${run.name} (sha256 ${run.module}, entry ${run.entry})` : `${run.module} (entry ${run.entry})`}`,
  ];
  for (const u of d.upgrades) {
    lines.push(`upgraded  ${iso(u.at)} from sha256 ${u.fromModule} to ${u.toModule}${u.attempt !== null ? ` (attempt ${u.attempt})` : ""}`);
  }
  if (d.waitingFor) lines.push(`waiting   ${waitText(d.waitingFor, run.id)}`);
  if (d.owner) lines.push(`owner     ${ownerText(d.owner, run.id)}`);
  lines.push(`input     ${bytesAsText(run.input) || "(none)"}`);
  if (run.output !== null) lines.push(`output    ${bytesAsText(run.output)}`);
  if (run.error)
    lines.push(
      `error     ${run.error.code}: ${run.error.message}${run.error.exitCode !== undefined ? ` (exit code ${run.error.exitCode})` : ""}`,
    );
  lines.push(`created   ${iso(run.createdAt)}`, `updated   ${iso(run.updatedAt)}`);
  if (run.finishedAt !== null) lines.push(`finished  ${iso(run.finishedAt)}`);
  lines.push(`attempts  ${run.attempts}`);
  if (run.parentId) lines.push(`parent    ${run.parentId}`);
  const from = run.config.forkedFrom;
  if (from) lines.push(`forked    from ${from.run} at seq ${from.seq} (its first ${from.seq} journal entries copied)`);
  for (const c of d.children) lines.push(`child     ${c.id} (${c.status})`);
  for (const r of d.retries) {
    const cut =
      r.cut === 0
        ? "nothing cut"
        : `journal cut from seq ${r.fromSeq} (${r.cut} entr${r.cut === 1 ? "y" : "ies"}, see \`dwe journal ${run.id}\`)`;
    lines.push(`retried   ${iso(r.at)} after attempt ${r.afterAttempt}${r.error ? ` (${r.error.code})` : ""}: ${cut}`);
  }
  const grants = describeGrants(run.config.grants);
  lines.push(`grants    ${grants.length ? grants.join("; ") : "(none)"}`);
  lines.push(`args      ${run.config.args.length ? run.config.args.map(shellWord).join(" ") : "(none)"}`);
  const env = Object.entries(run.config.env);
  lines.push(`env       ${env.length ? env.map(([k, v]) => shellWord(`${k}=${v}`)).join(" ") : "(none)"}`);
  lines.push(`limits    ${limitsText(run.config)}`);
  const ops = Object.entries(journal.byOp)
    .map(([op, n]) => `${op} ${n}`)
    .join(", ");
  lines.push(
    `journal   ${journal.entries} entries, ${journal.bytes} payload bytes${journal.intents ? `, ${journal.intents} in flight` : ""}${ops ? ` (${ops})` : ""}`,
  );
  return lines.join("\n");
}

function waitText(w: WaitInfo, runId: string): string {
  const until = w.until === null ? "" : `, until ${iso(w.until)}`;
  if (w.kind === "signal") {
    const name = w.signal ?? "NAME";
    const what = w.signal === null ? "a signal (its name was not recorded)" : `signal '${w.signal}'`;
    return `for ${what} (seq ${w.seq}${until}); send it with \`dwe signal ${runId} ${name} [--data JSON]\``;
  }
  if (w.kind === "child") {
    const runs = w.runs.length === 0 ? "a child run" : `child run${w.runs.length > 1 ? "s" : ""} ${w.runs.join(", ")}`;
    return `for ${runs} to end (seq ${w.seq}${until})`;
  }
  return `until ${w.until === null ? "(time not recorded)" : iso(w.until)} (${w.op}, seq ${w.seq})`;
}

function ownerText(o: OwnerInfo, runId: string): string {
  const lease = o.leaseExpiresAt === null ? "no lease" : `lease until ${iso(o.leaseExpiresAt)}`;
  if (o.state === "live") return `${o.id} (${lease})`;
  const why = o.state === "dead" ? "DEAD: its process is gone" : `its lease expired at ${iso(o.leaseExpiresAt)}`;
  return `${o.id} (${why}); \`dwe resume ${runId}\` or a worker takes the run over`;
}

function limitsText(c: RunConfig): string {
  const mine = (v: number | null | undefined, dflt: number, text: (n: number) => string) =>
    v === null || v === undefined ? `${text(dflt)} (default)` : text(v);
  const kids = c.childLimits ?? DEFAULT_CHILD_LIMITS;
  return [
    `timeout ${c.timeoutMs === null ? "none" : `${c.timeoutMs} ms`}`,
    `memory ${mine(c.maxMemoryBytes, DEFAULT_MAX_MEMORY, (n) => `${n} bytes`)}`,
    `journal ${mine(c.maxJournalEntries, DEFAULT_MAX_JOURNAL_ENTRIES, (n) => `${n} entries`)}, ${mine(c.maxJournalBytes, DEFAULT_MAX_JOURNAL_BYTES, (n) => `${n} bytes`)}`,
    `children ${kids.children}, descendants ${kids.descendants}, depth ${kids.depth}${c.childLimits ? "" : " (default)"}`,
  ].join("; ");
}

/** A word as a shell would need it quoted (args and env shown as on a command line). */
function shellWord(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}

/** Rows as a table: columns padded to their widest cell, two spaces apart. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => row[i]?.length ?? 0))) ?? [];
  return (
    rows
      .map((row) =>
        row
          .map((c, i) => c.padEnd(widths[i] ?? 0))
          .join("  ")
          .trimEnd(),
      )
      .join("\n") + "\n"
  );
}
