import { type GlobalOptions, openDwe } from "./context.js";
import { runDetailsJson, runText } from "./format.js";
import type { LogLine } from "../../api/types.js";
import { logLineJson } from "../../api/run-json.js";

/** `dwe show RUN [--json]`: status, input, output, error, grants and a journal summary. */
export async function showCommand(runId: string, flags: GlobalOptions & { json?: boolean }): Promise<number> {
  const dwe = await openDwe(flags, false);
  try {
    const details = await dwe.show(runId);
    process.stdout.write((flags.json ? JSON.stringify(runDetailsJson(details)) : runText(details)) + "\n");
    return 0;
  } finally {
    await dwe.close();
  }
}

/**
 * `dwe logs RUN`: the guest's log lines, once each, in order; then those of each child run (in the
 * order they were started, each child's own children after it), so a pipeline's logs show every
 * job and step. `--all`: also the lines retries cut, marked: by default a retried run's logs read as
 * if its last attempts had run alone (the cut calls logged again are not shown twice).
 */
export async function logsCommand(
  runId: string,
  flags: GlobalOptions & { json?: boolean; timestamps?: boolean; follow?: boolean; all?: boolean },
): Promise<number> {
  const dwe = await openDwe(flags, false);
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  if (flags.follow) {
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
  }
  try {
    await dwe.get(runId); // RunNotFound before anything is printed
    // Lines name their run when the run has children (a pipeline's jobs); when following, from when one appears.
    let family = (await dwe.list({ parentId: runId, limit: 1 })).runs.length > 0;
    const format = (l: LogLine): string => {
      if (flags.json) return JSON.stringify(logLineJson(l, family)) + "\n";
      const msg = l.message.endsWith("\n") ? l.message.slice(0, -1) : l.message;
      const cut = l.cut === undefined ? "" : `[cut by retry ${l.cut}] `;
      return (flags.timestamps ? `${new Date(l.at).toISOString()} ${l.level.padEnd(5)} ` : "") + cut + msg + "\n";
    };
    const all = flags.all === true;
    if (flags.follow) {
      for await (const l of dwe.logs(runId, { follow: true, all, signal: stop.signal })) {
        family ||= l.runId !== runId;
        process.stdout.write(format(l));
      }
    } else {
      const lines = [];
      for await (const l of dwe.logs(runId, { all })) lines.push(l);
      family ||= lines.some((l) => l.runId !== runId);
      process.stdout.write(lines.map(format).join(""));
    }
    return 0;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await dwe.close();
  }
}
