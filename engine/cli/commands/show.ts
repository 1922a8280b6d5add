import { type GlobalOptions, openDwe } from "./context.js";
import { runJson, runText } from "./format.js";

/** `dwe show RUN [--json]`: status, input, output, error, grants and a journal summary. */
export async function showCommand(runId: string, flags: GlobalOptions & { json?: boolean }): Promise<number> {
  const dwe = await openDwe(flags, false);
  try {
    const { run, journal, children } = await dwe.show(runId);
    process.stdout.write((flags.json ? JSON.stringify(runJson(run, journal, children)) : runText(run, journal, children)) + "\n");
    return 0;
  } finally {
    await dwe.close();
  }
}

/**
 * `dwe logs RUN`: the guest's log lines, once each, in order; then those of each child run (in the
 * order they were started, each child's own children after it), so a pipeline's logs show every
 * job and step.
 */
export async function logsCommand(runId: string, flags: GlobalOptions & { json?: boolean; timestamps?: boolean }): Promise<number> {
  const dwe = await openDwe(flags, false);
  try {
    let out = "";
    const lines = [];
    for await (const l of dwe.logs(runId)) lines.push(l);
    // Lines name their run when the run has children (a pipeline's jobs).
    const family = lines.some((l) => l.runId !== runId) || (await dwe.list({ parentId: runId, limit: 1 })).runs.length > 0;
    for (const l of lines) {
      if (flags.json)
        out +=
          JSON.stringify({
            ...(family && { run: l.runId }),
            seq: l.seq,
            at: new Date(l.at).toISOString(),
            level: l.level,
            stream: l.stream,
            message: l.message,
          }) + "\n";
      else {
        const msg = l.message.endsWith("\n") ? l.message.slice(0, -1) : l.message;
        out += (flags.timestamps ? `${new Date(l.at).toISOString()} ${l.level.padEnd(5)} ` : "") + msg + "\n";
      }
    }
    process.stdout.write(out);
    return 0;
  } finally {
    await dwe.close();
  }
}
