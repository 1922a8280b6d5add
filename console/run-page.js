// `#/runs/ID`: one run: what it is, the buttons that act on it, its journal as a timeline (click an
// entry for what it recorded), its logs followed live, and its parent and children. Refreshed every
// second until the run has ended.
import { api, get } from "./api.js";
import { fill, h, statusBadge } from "./element.js";
import { duration, isFinal, millis, pretty, relative, when } from "./format.js";
import { logView } from "./log-view.js";
import { attemptNo, crashed, entryTimes, kindOf, timeline } from "./timeline.js";

const POLL_MS = 1000;
const runLink = (id) => h("a", { href: `#/runs/${encodeURIComponent(id)}`, class: "mono" }, id);
const path = (id, rest = "") => `/api/runs/${encodeURIComponent(id)}${rest}`;

function facts(run) {
  const start = millis(run.created_at);
  const end = millis(run.finished_at);
  const items = [
    ["name", run.name],
    ["entry", h("span", { class: "mono" }, run.entry)],
    ["module", h("span", { class: "mono", title: run.module }, String(run.module ?? "").slice(0, 12))],
    ["created", h("span", { title: run.created_at }, when(run.created_at))],
    ["finished", run.finished_at ? h("span", { title: run.finished_at }, when(run.finished_at)) : null],
    ["took", start !== null && end !== null ? duration(end - start) : null],
    ["attempts", String(run.attempts)],
    ["wakes", run.status === "suspended" && run.wake_at ? relative(run.wake_at) : null],
    ["parent", run.parent ? runLink(run.parent) : null],
    ["forked from", run.forked_from ? h("span", {}, runLink(run.forked_from.run), ` at #${run.forked_from.seq}`) : null],
  ];
  return h(
    "dl",
    { class: "facts" },
    items.filter(([, v]) => v !== null && v !== undefined && v !== "").map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, v))),
  );
}

/** The selected entry: everything the journal kept of it. */
function entryDetail(e, attempts, loadFull) {
  if (!e) return h("p", { class: "muted" }, "Click an entry of the timeline to see what it recorded.");
  const { start, end } = entryTimes(e);
  const a = attempts.find((x) => (x.number ?? x.attempt) === e.attempt);
  const rows = [
    ["seq", String(e.seq)],
    ["op", e.op],
    ["kind", kindOf(e)],
    ["state", e.state],
    ["attempt", typeof e.attempt === "number" ? `${e.attempt}${a && a.owner ? ` (${a.owner})` : ""}` : null],
    ["pending", e.pending ?? null],
    ["started", start !== null ? new Date(start).toISOString() : null],
    ["took", start !== null && end !== null ? duration(end - start) : null],
    ["stored", `${e.bytes} bytes`],
  ];
  const block = (title, value) => h("div", { class: "payload" }, h("h4", {}, title), h("pre", {}, pretty(value)));
  return h(
    "div",
    { class: "entry-detail", "data-seq": String(e.seq) },
    h(
      "dl",
      { class: "facts compact" },
      rows.filter(([, v]) => v).map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, v))),
    ),
    e.request !== undefined
      ? block("request", e.request)
      : h(
          "div",
          { class: "payload" },
          h("h4", {}, "request"),
          h("p", { class: "muted small" }, "Not stored for this entry (written before dwe kept requests, or over 64 KiB)."),
        ),
    e.state === "ok" ? block("response", e.response) : null,
    e.state === "error" ? block("error", e.error) : null,
    e.state === "intent" ? block("intent (outcome not recorded yet)", e.intent) : null,
    h("button", { type: "button", class: "small-button", onclick: loadFull }, "Show in full"),
  );
}

/** The attempts table (when the journal endpoint gives it): who ran the run when, and how each attempt ended. */
function attemptsTable(attempts, running) {
  if (attempts.length === 0) return null;
  const cell = (v, cls) => h("td", { class: cls }, v ?? "");
  return h(
    "table",
    { class: "runs attempts", id: "attempts" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["attempt", "owner", "started", "ended", "took", "outcome", "error"].map((c) => h("th", {}, c)),
      ),
    ),
    h(
      "tbody",
      {},
      attempts.map((a) => {
        const start = millis(a.started_at);
        const end = millis(a.ended_at);
        const bad = crashed(a, attempts, running);
        return h(
          "tr",
          { "data-attempt": String(attemptNo(a)) },
          cell(String(attemptNo(a)), "num"),
          cell(a.owner, "mono"),
          cell(start !== null ? when(new Date(start).toISOString()) : ""),
          cell(end !== null ? when(new Date(end).toISOString()) : ""),
          cell(start !== null && end !== null ? duration(end - start) : "", "num"),
          cell(bad ? "crashed" : (a.outcome ?? "running"), bad ? "error-text" : undefined),
          cell(typeof a.error === "string" ? a.error : a.error ? (a.error.message ?? JSON.stringify(a.error)) : "", "note"),
        );
      }),
    ),
  );
}

/** The run's ancestors (root first), the run, and its children. */
function family(ancestors, run) {
  const item = (r, current, children = []) =>
    h(
      "li",
      { class: current ? "current" : undefined },
      current ? h("span", { class: "mono" }, r.id) : runLink(r.id),
      " ",
      statusBadge(r.status),
      children.length ? h("ul", {}, children) : null,
    );
  let tree = item(
    run,
    true,
    (run.children ?? []).map((c) => item(c, false)),
  );
  for (const a of [...ancestors].reverse()) tree = item(a, false, [tree]);
  const none = !run.parent && !(run.children ?? []).length;
  return h("div", {}, h("ul", { class: "tree" }, tree), none ? h("p", { class: "muted small" }, "No parent, no children.") : null);
}

export function runPage(main, id, fail) {
  let stopped = false;
  let timer = 0;
  const abort = new AbortController();
  let run = null;
  let entries = [];
  let attempts = [];
  let selected = null;
  let ancestors = null;
  let lastKey = "";

  const title = h("h1", { class: "mono" }, id);
  const status = h("span", {});
  const head = h("div", {});
  const message = h("p", { class: "action-message", id: "action-message", role: "status" });
  const timelineBox = h("div", { id: "timeline" });
  const detailBox = h("div", { id: "entry" });
  const familyBox = h("div", { id: "family" });
  const detailsBox = h("div", { id: "details" });
  const logs = logView(path(id, "/logs?follow=1"), id);

  const say = (text, ok) => {
    message.className = `action-message ${ok ? "ok" : "error-text"}`;
    message.textContent = text;
  };
  /** One button's request: its answer, or the server's error message shown under the buttons. */
  async function act(label, rest, body, done) {
    say(`${label}…`, true);
    try {
      const answer = await api("POST", path(id, rest), body);
      say(done(answer), true);
      void refresh();
      return answer;
    } catch (err) {
      say(`${label}: ${err.message}`, false);
      return null;
    }
  }

  const signalName = h("input", { name: "signal", placeholder: "signal name", size: 12, required: true });
  const signalData = h("input", { name: "data", placeholder: 'data (JSON, e.g. {"ok":true})', size: 22 });
  const forkAt = h("input", { name: "at", placeholder: "at seq", size: 6, inputmode: "numeric" });
  const retryGrants = h("input", { name: "grants", placeholder: 'grants (JSON, e.g. {"net":["api.example.com"]})', size: 30 });
  const retryWiden = h("input", { type: "checkbox", name: "widen_grants" });
  const buttons = {
    signal: h("button", { type: "submit", class: "primary" }, "Send signal"),
    cancel: h("button", { type: "button", onclick: () => act("cancel", "/cancel", undefined, (a) => `cancel: ${summary(a)}`) }, "Cancel"),
    terminate: h(
      "button",
      { type: "button", class: "danger", onclick: () => act("terminate", "/terminate", undefined, (a) => `terminate: ${summary(a)}`) },
      "Terminate",
    ),
    retry: h("button", { type: "submit" }, "Retry"),
    fork: h("button", { type: "submit" }, "Fork"),
  };
  /** What cancel (`{cancelled, requested}`) or terminate (`{terminated}`) answered, in words. */
  const summary = (a) =>
    [
      ["cancelled", "cancelled"],
      ["requested", "asked to stop"],
      ["terminated", "terminated"],
    ]
      .filter(([k]) => Array.isArray(a[k]) && a[k].length > 0)
      .map(([k, words]) => `${words} ${a[k].join(", ")}`)
      .join("; ") || "done";

  const signalForm = h(
    "form",
    {
      class: "row",
      onsubmit: (ev) => {
        ev.preventDefault();
        const name = signalName.value.trim();
        let data;
        if (signalData.value.trim() !== "") {
          try {
            data = JSON.parse(signalData.value);
          } catch {
            return say('signal: the data is not JSON (quote a string: "yes")', false);
          }
        }
        void act("signal", `/signals/${encodeURIComponent(name)}`, data, (a) => `signal '${a.name}' sent (${a.id})`);
      },
    },
    signalName,
    signalData,
    buttons.signal,
  );
  // Retry as `dwe retry --detach`: with no grants the stored ones are kept; grants given replace them
  // (as POST /api/runs takes them), and widening them needs the box ticked (`--grant`).
  const retryForm = h(
    "form",
    {
      class: "row",
      onsubmit: (ev) => {
        ev.preventDefault();
        const body = {};
        if (retryGrants.value.trim() !== "") {
          try {
            body.grants = JSON.parse(retryGrants.value);
          } catch {
            return say('retry: the grants are not JSON (e.g. {"net":["api.example.com"]})', false);
          }
        }
        if (retryWiden.checked) body.widen_grants = true;
        void act("retry", "/retry", body, () => "retried: the run continues");
      },
    },
    retryGrants,
    h("label", { class: "small" }, retryWiden, " widen grants"),
    buttons.retry,
  );
  const forkForm = h(
    "form",
    {
      class: "row",
      onsubmit: async (ev) => {
        ev.preventDefault();
        const at = forkAt.value.trim();
        if (at !== "" && !/^\d+$/.test(at)) return say("fork: 'at' is a journal seq (a whole number)", false);
        const made = await act("fork", "/fork", at === "" ? {} : { at: Number(at) }, (a) => `forked as ${a.id}`);
        if (made) location.hash = `#/runs/${encodeURIComponent(made.id)}`;
      },
    },
    forkAt,
    buttons.fork,
  );

  fill(
    main,
    h("p", { class: "crumbs small" }, h("a", { href: "#/" }, "Runs"), " / ", h("span", { class: "mono" }, id)),
    h("section", { class: "page-head" }, title, status),
    h(
      "section",
      { class: "card" },
      head,
      h("div", { class: "actions" }, signalForm, h("div", { class: "row" }, buttons.cancel, buttons.terminate), retryForm, forkForm),
      message,
    ),
    h("section", { class: "card" }, h("h2", {}, "Journal"), timelineBox),
    h(
      "div",
      { class: "columns" },
      h("section", { class: "card" }, h("h2", {}, "Entry"), detailBox),
      h("section", { class: "card" }, h("h2", {}, "Logs", logs.state), logs.element),
    ),
    h(
      "div",
      { class: "columns" },
      h("section", { class: "card" }, h("h2", {}, "Parent and children"), familyBox),
      h("section", { class: "card" }, h("h2", {}, "Input, output and grants"), detailsBox),
    ),
  );

  const select = (e) => {
    selected = e.seq;
    renderTimeline(true);
    fill(
      detailBox,
      entryDetail(e, attempts, () => loadFull(e.seq)),
    );
  };
  async function loadFull(seq) {
    try {
      const full = await get(path(id, `/journal?from=${seq}&full=1`));
      const e = full.entries.find((x) => x.seq === seq);
      if (e)
        fill(
          detailBox,
          entryDetail(e, attempts, () => loadFull(seq)),
        );
    } catch (err) {
      say(err.message, false);
    }
  }
  function renderTimeline(force) {
    const key = JSON.stringify([
      run.status,
      entries.length,
      entries.filter((e) => e.state === "intent").length,
      attempts.map((a) => [a.outcome, a.ended_at]),
    ]);
    if (!force && key === lastKey) return;
    lastKey = key;
    const scroll = timelineBox.querySelector(".tl-rows")?.scrollTop ?? 0;
    fill(
      timelineBox,
      timeline({ entries, run, attempts, selected, onSelect: select }),
      attempts.length ? h("h2", { class: "sub" }, "Attempts") : null,
      attemptsTable(attempts, run.status === "running"),
    );
    const rows = timelineBox.querySelector(".tl-rows");
    if (rows) rows.scrollTop = scroll;
  }

  function render() {
    document.title = `${id} · ${run.status} · dwe`;
    fill(status, statusBadge(run.status));
    fill(head, facts(run), run.error ? h("p", { class: "error-box" }, h("strong", {}, run.error.code), ": ", run.error.message) : null);
    const final = isFinal(run.status);
    buttons.signal.disabled = final;
    buttons.cancel.disabled = final;
    buttons.terminate.disabled = final;
    renderTimeline(false);
    fill(familyBox, family(ancestors ?? [], run));
    const block = (t, v) => h("div", { class: "payload" }, h("h4", {}, t), h("pre", {}, pretty(v)));
    fill(
      detailsBox,
      block("input", run.input),
      block("output", run.output),
      block("grants", run.grants),
      run.args?.length ? block("args", run.args) : null,
      run.env && Object.keys(run.env).length ? block("env", run.env) : null,
    );
  }

  async function loadAncestors() {
    const chain = [];
    let at = run.parent;
    while (at && chain.length < 20) {
      const p = await get(path(at), abort.signal);
      chain.unshift(p);
      at = p.parent;
    }
    ancestors = chain;
  }

  // One load at a time: a refresh asked for meanwhile (a button's) runs once the current one is done.
  let loading = false;
  let again = false;
  async function refresh() {
    if (loading) {
      again = true;
      return;
    }
    loading = true;
    clearTimeout(timer);
    try {
      const [r, j] = await Promise.all([get(path(id), abort.signal), get(path(id, "/journal"), abort.signal)]);
      run = r;
      entries = j.entries;
      attempts = Array.isArray(j.attempts) ? j.attempts : [];
      if (ancestors === null) await loadAncestors();
      render();
      logs.keepFollowing(run.status);
    } catch (err) {
      if (stopped) return;
      if (run === null || err.status === 401 || err.status === 404) return fail(err);
      say(err.message, false);
    } finally {
      loading = false;
    }
    if (again && !stopped) {
      again = false;
      return refresh();
    }
    if (!stopped && !isFinal(run.status)) timer = setTimeout(refresh, POLL_MS);
  }
  void refresh();
  return () => {
    stopped = true;
    abort.abort();
    logs.stop();
    clearTimeout(timer);
  };
}
