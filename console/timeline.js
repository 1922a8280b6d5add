// A run's journal as a timeline: one row and one bar per entry, on a time axis when every entry has
// its start time (else evenly spaced in seq order), effects and waits coloured apart, in-flight
// entries marked, attempt boundaries and crash points drawn where the journal says who wrote what.
import { h } from "./element.js";
import { duration, millis, preview } from "./format.js";

/**
 * What an op does, for its colour: an effect changes the world (so is journaled before it is made),
 * a wait suspends the run, an end is the run's result; anything else reads. The journal endpoint
 * gives no kind today; an entry's own `kind`, when present, wins.
 */
const EFFECTS = new Set([
  "http.request",
  "exec",
  "fs.write",
  "fs.append",
  "fs.remove",
  "child.start",
  "wasi.fd_write",
  "wasi.fd_pwrite",
  "wasi.path_open_create",
  "wasi.path_create_directory",
  "wasi.path_remove_directory",
  "wasi.path_unlink_file",
  "wasi.path_rename",
  "wasi.fd_filestat_set_size",
  "wasi.path_symlink",
  "wasi.path_link",
  "wasi.fd_filestat_set_times",
  "wasi.path_filestat_set_times",
]);
const WAITS = new Set(["sleep", "signal.wait", "child.join", "wasi.poll_oneoff"]);
const ENDS = new Set(["run.output", "run.fail", "wasi.proc_exit"]);

export function kindOf(e) {
  if (typeof e.kind === "string") return e.kind === "timer" ? "wait" : e.kind;
  if (EFFECTS.has(e.op)) return "effect";
  if (WAITS.has(e.op)) return "wait";
  if (ENDS.has(e.op)) return "end";
  return "read";
}

/** The start and end (ms) an entry recorded, whatever the field is called; null when it has none (older entries). */
export function entryTimes(e) {
  const start = millis(e.started_at ?? e.start_ms ?? e.start ?? null);
  let end = millis(e.ended_at ?? e.end_ms ?? e.end ?? null);
  if (end === null && start !== null && typeof e.duration_ms === "number") end = start + e.duration_ms;
  return { start, end };
}

export const attemptNo = (a) => a.number ?? a.attempt ?? null;
/** The attempt that wrote an entry; null for entries written before dwe recorded attempts. */
const attemptOf = (e) => (typeof e.attempt === "number" ? e.attempt : null);

/**
 * An attempt that crashed: the API says so (`crashed`), or, from an API that does not, it has neither
 * end nor outcome (it never reached the run's end: its process died or lost its lease) and is not
 * the attempt running now.
 */
export function crashed(a, attempts, running) {
  if (typeof a.crashed === "boolean") return a.crashed;
  const current = running && attemptNo(a) === Math.max(...attempts.map(attemptNo));
  return !a.outcome && !a.ended_at && !current;
}

/**
 * What became of an intent (an effect started, its outcome not journaled): `in-flight` (being made
 * now), `waiting` (the suspended run waits on it: a sleep, a signal, a child) or `no-result` (a
 * crash point: its attempt ended without the outcome). The API's `pending` when it gives one.
 */
export function pendingOf(e, run, isLast) {
  if (e.state !== "intent") return null;
  if (typeof e.pending === "string") return e.pending;
  if (run.status === "running") return "in-flight";
  if (run.status === "suspended" && isLast) return "waiting";
  return "no-result";
}

const PENDING_MARKS = {
  "in-flight": ["mark-flight", "in flight", "in flight: the effect is being made now; its outcome is not journaled yet"],
  waiting: ["mark-waiting", "waiting", "the suspended run waits on this: it continues when the time, signal or child comes"],
  "no-result": [
    "mark-crash",
    "no result",
    "crash point: the attempt ended without journaling this effect's outcome; the next attempt finds it in flight",
  ],
};

const TIME_STEPS = [
  1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 15e3, 3e4, 6e4, 12e4, 3e5, 6e5, 9e5, 18e5, 36e5, 72e5, 216e5, 864e5,
];

/** A tick's offset: `250 ms`, `2 s`, `1m 30s`. */
const tickLabel = (ms) => (ms < 1000 ? `${ms} ms` : ms < 60_000 ? `${+(ms / 1000).toFixed(1)} s` : duration(ms));

function ticks(span, count = 6) {
  const step = TIME_STEPS.find((s) => span / s <= count) ?? span / count;
  const out = [];
  // Not past 90% of the axis: a label there would be cut off at its end.
  for (let t = 0; t <= span * 0.9; t += step) out.push(t);
  return out;
}

/**
 * The timeline of `entries` (seq order). `run` gives the status (what an intent is) and the end; `attempts` is the attempts table when the API gives one. `onSelect(entry)` on a click.
 */
export function timeline({ entries, run, attempts = [], selected = null, onSelect }) {
  const now = Date.now();
  const times = entries.map(entryTimes);
  const timed = entries.length > 0 && times.every((t) => t.start !== null);
  const running = run.status === "running";
  const pending = entries.map((e, i) => pendingOf(e, run, i === entries.length - 1));
  // An effect being made or waited on lasts until now; one left without a result ends where it began.
  const stopOf = (i) =>
    times[i].end ?? (pending[i] === "in-flight" || pending[i] === "waiting" ? Math.max(now, times[i].start) : times[i].start);

  // The axis: real time when every entry has a start, else one slot per entry.
  let t0 = 0;
  let span = Math.max(entries.length, 1);
  if (timed) {
    t0 = Math.min(...times.map((t) => t.start));
    span = Math.max(Math.max(...entries.map((_, i) => stopOf(i)), millis(run.finished_at) ?? 0) - t0, 1);
  }
  const place = (i) => {
    if (!timed) return { left: (i / span) * 100, width: (1 / span) * 100 };
    const { start } = times[i];
    const stop = stopOf(i);
    return { left: ((start - t0) / span) * 100, width: ((stop - start) / span) * 100 };
  };

  // Where each attempt ended by crashing: the last entry it wrote is a crash point.
  const crashAfter = new Map();
  const byNumber = new Map(attempts.map((a) => [attemptNo(a), a]));
  entries.forEach((e, i) => {
    const a = byNumber.get(attemptOf(e));
    const next = entries[i + 1];
    if (a && crashed(a, attempts, running) && (!next || attemptOf(next) !== attemptOf(e))) crashAfter.set(e.seq, a);
  });

  const axis = h(
    "div",
    { class: "tl-row tl-axis" },
    h("span", { class: "tl-seq" }, "seq"),
    h("span", { class: "tl-op" }, "op"),
    h("span", { class: "tl-dur" }, timed ? "took" : ""),
    h(
      "span",
      { class: "tl-track" },
      timed
        ? ticks(span).map((t) => tick((t / span) * 100, t === 0 ? "0" : `+${tickLabel(t)}`))
        : ticks(entries.length, 8)
            .filter((t) => t < entries.length)
            .map((t) => tick((t / span) * 100, `#${entries[Math.floor(t)]?.seq ?? ""}`)),
    ),
    h("span", { class: "tl-label" }, "recorded"),
  );

  const rows = [];
  let attempt = null;
  entries.forEach((e, i) => {
    if (attemptOf(e) !== null && attemptOf(e) !== attempt) {
      attempt = attemptOf(e);
      const a = byNumber.get(attempt);
      const bad = a !== undefined && crashed(a, attempts, running);
      rows.push(
        h(
          "div",
          { class: "tl-attempt", "data-attempt": String(attempt) },
          `attempt ${attempt}`,
          a && a.owner ? h("span", { class: "muted" }, ` · ${a.owner}`) : null,
          a ? h("span", { class: bad ? "error-text" : "muted" }, ` · ${bad ? "crashed" : (a.outcome ?? "running")}`) : null,
        ),
      );
    }
    const kind = kindOf(e);
    const p = pending[i];
    const { left, width } = place(i);
    const bar = h("span", {
      class: `tl-bar kind-${kind} state-${e.state}${p ? ` pending-${p}` : ""}`,
      title: `#${e.seq} ${e.op} (${kind}, ${p ?? e.state})`,
    });
    bar.style.left = `${Math.min(left, 99.7)}%`;
    bar.style.width = `${Math.max(width, 0)}%`;
    const crash = crashAfter.get(e.seq);
    const mark = p && PENDING_MARKS[p];
    const marks = [
      mark ? h("span", { class: `mark ${mark[0]}`, title: mark[2] }, mark[1]) : null,
      crash
        ? h(
            "span",
            {
              class: "mark mark-crash",
              title: `attempt ${attemptNo(crash)} crashed after this entry (its process died or lost its lease)`,
            },
            "✕ crash",
          )
        : null,
    ];
    const { start, end } = times[i];
    rows.push(
      h(
        "div",
        {
          class: `tl-row tl-entry${selected === e.seq ? " selected" : ""}`,
          role: "button",
          tabindex: "0",
          "data-seq": String(e.seq),
          onclick: () => onSelect(e),
          onkeydown: (ev) => {
            if (ev.key === "Enter" || ev.key === " ") {
              ev.preventDefault();
              onSelect(e);
            }
          },
        },
        h("span", { class: "tl-seq mono" }, String(e.seq)),
        h("span", { class: "tl-op" }, h("span", { class: `dot kind-${kind}` }), h("span", { class: "mono" }, e.op), marks),
        h("span", { class: "tl-dur num" }, start !== null && end !== null ? duration(end - start) : e.state === "error" ? "error" : ""),
        h("span", { class: "tl-track" }, bar),
        h("span", { class: "tl-label" }, preview(e.response ?? e.error ?? e.intent, 80)),
      ),
    );
  });

  const legend = h(
    "div",
    { class: "legend small muted" },
    [
      ["effect", "effect"],
      ["wait", "wait"],
      ["read", "read"],
      ["end", "result"],
    ].map(([k, label]) => h("span", {}, h("span", { class: `dot kind-${k}` }), label)),
    h("span", {}, h("span", { class: "dot in-flight-dot" }), "in flight / no result"),
    h("span", {}, timed ? "time axis: since the first entry" : "no times recorded: entries evenly spaced in seq order"),
  );
  return h(
    "div",
    { class: "timeline", "data-mode": timed ? "time" : "seq" },
    legend,
    axis,
    h("div", { class: "tl-rows" }, rows.length ? rows : h("p", { class: "empty" }, "The journal is empty.")),
  );
}

function tick(pct, label) {
  const el = h("span", { class: "tick" }, label);
  el.style.left = `${pct}%`;
  return el;
}
