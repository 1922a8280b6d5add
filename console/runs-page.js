// `#/`: the runs table, newest first, with `dwe runs`'s filters (kept in the address, so a filtered
// view can be bookmarked) and refreshed every second and a half.
import { get } from "./api.js";
import { fill, h, statusBadge } from "./element.js";
import { duration, millis, preview, relative, when } from "./format.js";

const STATUSES = ["pending", "running", "suspended", "completed", "failed", "cancelled"];
const TEXT_FILTERS = [
  ["name", "name"],
  ["entry", "entry"],
  ["parent", "parent run"],
];
const SINCE = [
  ["", "any time"],
  ["15m", "last 15 min"],
  ["1h", "last hour"],
  ["24h", "last 24 h"],
  ["7d", "last 7 days"],
];
const PAGE = 50;
const POLL_MS = 1500;

/** What a run's row says in its last column: why it failed, when it wakes, whose child it is. */
function note(r) {
  if (r.error) return h("span", { class: "error-text", title: r.error.message }, preview(`${r.error.code}: ${r.error.message}`, 90));
  if (r.status === "suspended" && r.wake_at) return h("span", { class: "muted" }, `wakes ${relative(r.wake_at)}`);
  if (r.status === "suspended") return h("span", { class: "muted" }, "waiting");
  if (r.parent)
    return h("span", { class: "muted" }, "child of ", h("a", { href: `#/runs/${encodeURIComponent(r.parent)}`, class: "mono" }, r.parent));
  return "";
}

function took(r, now) {
  const start = millis(r.created_at);
  const end = millis(r.finished_at) ?? (r.status === "running" ? now : null);
  return start === null || end === null ? "" : duration(end - start);
}

function row(r, now) {
  return h(
    "tr",
    { "data-run": r.id },
    h("td", {}, h("a", { href: `#/runs/${encodeURIComponent(r.id)}`, class: "mono" }, r.id)),
    h("td", {}, statusBadge(r.status)),
    h("td", {}, r.name ?? ""),
    h("td", { class: "mono" }, r.entry ?? ""),
    h("td", { title: r.created_at ?? "" }, when(r.created_at)),
    h("td", { class: "num" }, took(r, now)),
    h("td", { class: "num" }, String(r.attempts ?? "")),
    h("td", { class: "note" }, note(r)),
  );
}

/** The API query of the filters in the address (only the known ones). */
function apiQuery(filters, limit) {
  const q = new URLSearchParams();
  for (const k of ["status", "name", "entry", "parent", "module", "created_after"]) {
    const v = filters.get(k);
    if (v) q.set(k, v);
  }
  q.set("limit", String(limit));
  return q;
}

export function runsPage(main, filters, fail) {
  const statuses = new Set((filters.get("status") ?? "").split(",").filter((s) => STATUSES.includes(s)));
  const go = (next) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(next)) if (v) q.set(k, v);
    location.hash = `#/${q.size ? `?${q}` : ""}`;
  };
  const current = () => ({
    status: [...statuses].join(","),
    ...Object.fromEntries(TEXT_FILTERS.map(([k]) => [k, inputs[k].value.trim()])),
    created_after: since.value,
  });

  const chips = STATUSES.map((s) =>
    h(
      "button",
      {
        type: "button",
        class: `chip status-${s}${statuses.has(s) ? " on" : ""}`,
        "aria-pressed": String(statuses.has(s)),
        onclick: () => {
          if (statuses.has(s)) statuses.delete(s);
          else statuses.add(s);
          go(current());
        },
      },
      s,
    ),
  );
  const inputs = Object.fromEntries(
    TEXT_FILTERS.map(([k, label]) => [
      k,
      h("input", { type: "search", name: k, placeholder: label, value: filters.get(k) ?? "", size: 14 }),
    ]),
  );
  const since = h(
    "select",
    { name: "created_after", onchange: () => go(current()) },
    SINCE.map(([v, label]) => h("option", { value: v, selected: (filters.get("created_after") ?? "") === v }, label)),
  );
  const form = h(
    "form",
    {
      class: "filters",
      onsubmit: (ev) => {
        ev.preventDefault();
        go(current());
      },
    },
    h("div", { class: "chips" }, chips),
    Object.values(inputs),
    since,
    h("button", { type: "submit" }, "Filter"),
    filters.size ? h("a", { href: "#/", class: "muted small" }, "clear") : null,
  );

  const tbody = h("tbody", { id: "runs" });
  const live = h("span", { class: "live muted small" }, "");
  const more = h("button", { type: "button", class: "hidden", onclick: () => ((pages += 1), void refresh()) }, "Load more");
  const table = h(
    "table",
    { class: "runs" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["run", "status", "name", "entry", "created", "took", "attempts", ""].map((c, i) =>
          h("th", { class: i === 5 || i === 6 ? "num" : undefined }, c),
        ),
      ),
    ),
    tbody,
  );
  fill(
    main,
    h("section", { class: "page-head" }, h("h1", {}, "Runs"), live),
    form,
    h("section", { class: "card flush" }, table, h("div", { class: "table-foot" }, more)),
  );

  let pages = 1;
  let timer = 0;
  let stopped = false;
  const abort = new AbortController();
  let loading = false;
  async function refresh() {
    if (loading) return;
    loading = true;
    clearTimeout(timer);
    try {
      const page = await get(`/api/runs?${apiQuery(filters, PAGE * pages)}`, abort.signal);
      const now = Date.now();
      fill(
        tbody,
        page.runs.length ? page.runs.map((r) => row(r, now)) : h("tr", {}, h("td", { colspan: 8, class: "empty" }, "No runs match.")),
      );
      more.classList.toggle("hidden", page.next === null);
      live.textContent = `live · ${page.runs.length} shown · updated ${when(new Date(now).toISOString())}`;
    } catch (err) {
      if (stopped) return;
      if (err.status === 401 || err.status === 400) return fail(err);
      live.textContent = err.message;
    } finally {
      loading = false;
    }
    if (!stopped) timer = setTimeout(refresh, POLL_MS);
  }
  void refresh();
  return () => {
    stopped = true;
    abort.abort();
    clearTimeout(timer);
  };
}
