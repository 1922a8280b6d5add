import type { JournalSummary } from "../../store/types.js";
import type { RetrySummary, RunInfo } from "../../api/types.js";
import { describeGrants } from "../../kernel/grants.js";

export { bytesForJson, runJson, scheduleJson } from "../../api/run-json.js";

export function bytesAsText(bytes: Uint8Array | null): string {
  if (bytes === null) return "";
  return Buffer.from(bytes).toString("utf8");
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

export function runText(run: RunInfo, journal: JournalSummary, children: RunInfo[], retries: RetrySummary[] = []): string {
  const lines = [
    `run       ${run.id}`,
    `status    ${run.status}${run.wakeAt !== null && run.status === "suspended" ? ` until ${iso(run.wakeAt)}` : ""}`,
    `module    ${run.name !== null ? `${run.name} (sha256 ${run.module}, entry ${run.entry})` : `${run.module} (entry ${run.entry})`}`,
    `input     ${bytesAsText(run.input) || "(none)"}`,
  ];
  if (run.output !== null) lines.push(`output    ${bytesAsText(run.output)}`);
  if (run.error) lines.push(`error     ${run.error.code}: ${run.error.message}`);
  lines.push(`created   ${iso(run.createdAt)}`, `updated   ${iso(run.updatedAt)}`);
  if (run.finishedAt !== null) lines.push(`finished  ${iso(run.finishedAt)}`);
  lines.push(`attempts  ${run.attempts}`);
  if (run.parentId) lines.push(`parent    ${run.parentId}`);
  const from = run.config.forkedFrom;
  if (from) lines.push(`forked    from ${from.run} at seq ${from.seq} (its first ${from.seq} journal entries copied)`);
  for (const c of children) lines.push(`child     ${c.id} (${c.status})`);
  for (const r of retries) {
    const cut =
      r.cut === 0
        ? "nothing cut"
        : `journal cut from seq ${r.fromSeq} (${r.cut} entr${r.cut === 1 ? "y" : "ies"}, see \`dwe journal ${run.id}\`)`;
    lines.push(`retried   ${iso(r.at)} after attempt ${r.afterAttempt}${r.error ? ` (${r.error.code})` : ""}: ${cut}`);
  }
  const grants = describeGrants(run.config.grants);
  lines.push(`grants    ${grants.length ? grants.join("; ") : "(none)"}`);
  const ops = Object.entries(journal.byOp)
    .map(([op, n]) => `${op} ${n}`)
    .join(", ");
  lines.push(
    `journal   ${journal.entries} entries, ${journal.bytes} payload bytes${journal.intents ? `, ${journal.intents} in flight` : ""}${ops ? ` (${ops})` : ""}`,
  );
  return lines.join("\n");
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
