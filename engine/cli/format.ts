import type { JournalSummary } from "../store/types.js";
import type { RunInfo } from "../api/types.js";
import { describeGrants } from "../kernel/grants.js";

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Bytes as JSON when they are JSON text, else as a string (or base64 when not UTF-8). */
export function bytesForJson(bytes: Uint8Array | null): unknown {
  if (bytes === null) return null;
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { base64: Buffer.from(bytes).toString("base64") };
  }
  if (text === "") return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export function bytesAsText(bytes: Uint8Array | null): string {
  if (bytes === null) return "";
  return Buffer.from(bytes).toString("utf8");
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

export function runJson(run: RunInfo, journal?: JournalSummary, children?: RunInfo[]): Record<string, unknown> {
  return {
    id: run.id,
    status: run.status,
    module: run.module,
    name: run.name,
    entry: run.entry,
    input: bytesForJson(run.input),
    output: bytesForJson(run.output),
    error: run.error && {
      code: run.error.code,
      message: run.error.message,
      ...(run.error.exitCode !== undefined && { exit_code: run.error.exitCode }),
    },
    created_at: iso(run.createdAt),
    updated_at: iso(run.updatedAt),
    finished_at: iso(run.finishedAt),
    wake_at: iso(run.wakeAt),
    attempts: run.attempts,
    parent: run.parentId,
    ...(run.config.forkedFrom && { forked_from: { run: run.config.forkedFrom.run, seq: run.config.forkedFrom.seq } }),
    ...(children && { children: children.map((c) => ({ id: c.id, status: c.status })) }),
    grants: run.config.grants,
    args: run.config.args,
    env: run.config.env,
    timeout_ms: run.config.timeoutMs,
    max_memory_bytes: run.config.maxMemoryBytes,
    ...(journal && { journal }),
  };
}

export function runText(run: RunInfo, journal: JournalSummary, children: RunInfo[]): string {
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
