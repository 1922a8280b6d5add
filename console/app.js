// The console's entry point: `#/` is the runs table, `#/runs/ID` a run's page. Each page is a
// function that fills <main> and returns how to stop it (its polls and streams).
import { ApiError, get, setToken, takeTokenFromAddress } from "./api.js";
import { fill, h } from "./element.js";
import { runPage } from "./run-page.js";
import { runsPage } from "./runs-page.js";

const main = document.getElementById("main");
let stop = () => {};

/** The form shown when the server wants a bearer token (a server listening beyond loopback). */
function tokenForm(message) {
  const input = h("input", {
    type: "password",
    name: "token",
    autocomplete: "off",
    placeholder: "the server's --token or DWE_TOKEN",
    size: 40,
  });
  return h(
    "section",
    { class: "card narrow" },
    h("h2", {}, "This server needs a token"),
    h("p", { class: "muted" }, message),
    h(
      "form",
      {
        class: "row",
        onsubmit: (ev) => {
          ev.preventDefault();
          setToken(input.value.trim());
          route();
        },
      },
      input,
      h("button", { type: "submit", class: "primary" }, "Use token"),
    ),
    h("p", { class: "muted small" }, "Kept in this tab only. You can also open the console as /#token=TOKEN."),
  );
}

/** Shows a page-level failure: a token form for 401, else the server's message. */
export function showFailure(err) {
  stop();
  stop = () => {};
  if (err instanceof ApiError && err.status === 401) fill(main, tokenForm(err.message));
  else
    fill(main, h("section", { class: "card narrow" }, h("h2", {}, "Cannot show this page"), h("p", { class: "error-text" }, err.message)));
}

function route() {
  stop();
  takeTokenFromAddress();
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, query = ""] = hash.split("?");
  const run = /^\/runs\/([^/]+)$/.exec(path);
  try {
    stop = run ? runPage(main, decodeURIComponent(run[1]), showFailure) : runsPage(main, new URLSearchParams(query), showFailure);
  } catch (err) {
    showFailure(err);
  }
}

document.getElementById("server").textContent = location.host;
window.addEventListener("hashchange", route);
route();
// A first call that fails for want of a token shows the form before anything else.
get("/api/runs?limit=1").catch((err) => {
  if (err instanceof ApiError && err.status === 401) showFailure(err);
});
