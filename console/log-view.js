// A run's log lines (and its children's), followed live over Server-Sent Events until the run ends.
import { followEvents } from "./api.js";
import { fill, h } from "./element.js";
import { when } from "./format.js";

export function logView(url, runId) {
  const list = h("div", { class: "log", id: "log", "aria-live": "polite" });
  const state = h("span", { class: "log-state muted small" }, "");
  let abort = null;
  let following = false;

  function line(l) {
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 24;
    list.append(
      h(
        "div",
        { class: `log-line level-${l.level ?? "info"}` },
        h("span", { class: "log-time", title: l.at }, when(l.at)),
        l.run !== runId ? h("a", { class: "log-run mono", href: `#/runs/${encodeURIComponent(l.run)}` }, l.run) : null,
        h("span", { class: "log-level" }, l.stream && l.stream !== "log" ? l.stream : (l.level ?? "")),
        h("span", { class: "log-message" }, l.message),
      ),
    );
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  function follow() {
    abort = new AbortController();
    following = true;
    fill(list);
    state.textContent = " · following";
    followEvents(
      url,
      (event, data) => {
        if (event === "log") line(data);
        else if (event === "end") state.textContent = ` · ended, run ${data.status}`;
        else if (event === "error") state.textContent = ` · ${data.message}`;
      },
      abort.signal,
    )
      .catch((err) => {
        if (!abort.signal.aborted) state.textContent = ` · ${err.message}`;
      })
      .finally(() => {
        following = false;
        if (list.childElementCount === 0) list.append(h("p", { class: "empty" }, "No log lines."));
      });
  }

  return {
    element: list,
    state,
    /** Starts following once, and again when a run that had ended runs again (a retry). */
    keepFollowing(status) {
      if (following) return;
      if (abort === null || ["pending", "running", "suspended"].includes(status)) follow();
    },
    stop() {
      abort?.abort();
    },
  };
}
