// The web console (docs/console.md) in a real browser: Debian's Chromium driven by playwright-core
// against a real `dwe server` process on 127.0.0.1, over a real SQLite file, with the runs executed
// by a real `dwe worker` process. The page follows a run to its end, shows every journal entry on
// the timeline, sends a signal that a waiting run continues on, and shows what the server answers
// to every button. Also how the files are served: types, CSP, no path outside console/.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Browser, type Page, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exited, workdir } from "./support/cli.js";
import { type Served, raw, startServer } from "./support/dwe-server.js";
import { CountingServer } from "./support/servers.js";
import { WORKER_WASM, type WorkerProcess, startWorker } from "./support/worker.js";

const CHROMIUM = process.env.DWE_CHROMIUM ?? "/usr/bin/chromium";
const TOKEN = "console-token-0123456789abcdef";
/** Where the screenshot goes: the test's directory, or (DWE_CONSOLE_SCREENSHOT=docs/console.png) the README's. */
const SCREENSHOT = process.env.DWE_CONSOLE_SCREENSHOT;
const WAIT = { timeout: 60_000 };

// Without Chromium the test cannot run; in CI (.ci/run installs it) that is a failure, not a skip.
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) {
  throw new Error(`the console test needs Chromium at ${CHROMIUM} (apt-get install -y chromium, or set DWE_CHROMIUM)`);
}

interface Entry {
  seq: number;
  op: string;
  state: string;
  request?: unknown;
  response?: unknown;
}
interface RunJson {
  id: string;
  status: string;
  output: unknown;
  forked_from?: { run: string; seq: number };
}

describe.skipIf(!haveChromium)("the web console in Chromium", () => {
  const w = workdir("dwe-console-");
  const target = new CountingServer();
  let targetUrl = "";
  let server: Served;
  let guarded: Served;
  let worker: WorkerProcess;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const foreign: string[] = [];
  const module = { base64: readFileSync(WORKER_WASM).toString("base64"), name: "worker.wasm" };

  const api = async <T>(path: string, body?: unknown): Promise<T> => {
    const res = await fetch(server.url + path, {
      method: body === undefined ? "GET" : "POST",
      ...(body !== undefined && { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
    });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  const start = (id: string, entry: string, input: unknown, net = false) =>
    api<RunJson>("/api/runs", { module, id, entry, input, ...(net && { grants: { net: ["127.0.0.1"] } }) });
  /** The run page's status badge once it says `status`. */
  const pageStatus = (status: string) => page.locator(`.page-head [data-status="${status}"]`).waitFor(WAIT);

  beforeAll(async () => {
    targetUrl = await target.start();
    server = await startServer(w, []);
    guarded = await startServer(w, [], { DWE_TOKEN: TOKEN });
    worker = startWorker(w);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
    page = await browser.newPage({ viewport: { width: 1360, height: 940 } });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console error: ${m.text()}`);
    });
    page.on("request", (r) => {
      const origin = new URL(r.url()).origin;
      if (origin !== new URL(server.url).origin && origin !== new URL(guarded.url).origin) foreign.push(r.url());
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await worker?.stop("SIGKILL");
    for (const s of [server, guarded]) if (s) s.child.kill("SIGKILL");
    for (const s of [server, guarded]) if (s) await exited(s.child);
    await target.stop();
    w.cleanup();
  });

  it("the runs table shows a run started after the page opened and follows it live to completed", async () => {
    await page.goto(`${server.url}/`);
    await page.locator("table.runs").waitFor(WAIT);
    await start("watch-1", "steps", { n: 3, url: targetUrl, sleep_ms: 300 }, true);
    // No reload: the table picks the run up and updates its status as the worker runs it.
    const row = page.locator('tr[data-run="watch-1"]');
    await row.waitFor(WAIT);
    await row.locator('[data-status="completed"]').waitFor(WAIT);
    expect(await row.locator("td").nth(3).textContent()).toBe("steps");

    // The status filter is applied by the API: only completed runs, and the address keeps it.
    await page.locator(".chip.status-suspended").click();
    await page.waitForURL(/#\/\?status=suspended$/);
    await page.locator(".empty").waitFor(WAIT);
    expect(await page.locator('tr[data-run="watch-1"]').count()).toBe(0);
  });

  it("the run page shows every journal entry as a bar, what an entry recorded on a click, and the logs to the end", async () => {
    await page.goto(`${server.url}/#/runs/watch-1`);
    await pageStatus("completed");
    const { entries } = await api<{ entries: Entry[] }>("/api/runs/watch-1/journal");
    expect(entries.length).toBeGreaterThan(6);
    await page.locator(".tl-bar").first().waitFor(WAIT);
    expect(await page.locator("#timeline .tl-bar").count()).toBe(entries.length);
    const seqs = await page.locator("#timeline .tl-entry").evaluateAll((rows) => rows.map((r) => Number(r.dataset.seq)));
    expect(seqs).toEqual(entries.map((e) => e.seq));
    // Effects are told apart from reads and waits.
    const http = entries.filter((e) => e.op === "http.request");
    expect(http).toHaveLength(3);
    expect(await page.locator("#timeline .tl-bar.kind-effect").count()).toBe(entries.filter((e) => e.op === "http.request").length);
    expect(await page.locator("#timeline .tl-bar.kind-wait").count()).toBe(entries.filter((e) => e.op === "sleep").length);

    // A click shows what that entry recorded: the HTTP response the guest got.
    await page.locator(`#timeline .tl-entry[data-seq="${http[1]!.seq}"]`).click();
    const detail = page.locator(`#entry .entry-detail[data-seq="${http[1]!.seq}"]`);
    await detail.waitFor(WAIT);
    expect(await detail.locator(".facts").textContent()).toContain("http.request");
    // The request as the guest sent it, and the response it got, each as the API gives them.
    expect(http[1]!.request).toBeDefined();
    expect(await detail.locator(".payload pre").allTextContents()).toEqual([
      JSON.stringify(http[1]!.request, null, 2),
      JSON.stringify(http[1]!.response, null, 2),
    ]);

    await page.locator("#log .log-line").nth(2).waitFor(WAIT);
    expect(await page.locator("#log .log-message").allTextContents()).toEqual(["step 0", "step 1", "step 2"]);
    await page.locator(".log-state", { hasText: "ended, run completed" }).waitFor(WAIT);
  });

  it("Send signal continues a waiting run, and the page follows it to completed", async () => {
    await start("approve-1", "signals", { name: "approve", count: 1 });
    await page.goto(`${server.url}/#/runs/approve-1`);
    await pageStatus("suspended");
    await page.fill('input[name="signal"]', "approve");
    await page.fill('input[name="data"]', '{"by": "console"}');
    await page.click("text=Send signal");
    await page.locator("#action-message", { hasText: "signal 'approve' sent" }).waitFor(WAIT);
    await pageStatus("completed");
    expect((await api<RunJson>("/api/runs/approve-1")).output).toEqual({ got: [{ by: "console" }], timed_out: false });
    const { entries } = await api<{ entries: Entry[] }>("/api/runs/approve-1/journal");
    await page.locator(`#timeline .tl-entry[data-seq="${entries.at(-1).seq}"]`).waitFor(WAIT);
    expect(await page.locator("#timeline .tl-bar").count()).toBe(entries.length);
    expect(entries.some((e) => e.op === "signal.wait" && e.state === "ok")).toBe(true);
  });

  it("Terminate and Retry show what the server answered, its error message included", async () => {
    await start("stop-1", "signals", { name: "never" });
    await page.goto(`${server.url}/#/runs/stop-1`);
    await pageStatus("suspended");
    // Terminate ends the run at once (reason terminated); the page says what the server answered.
    const [terminated] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/api/runs/stop-1/terminate")),
      page.click("text=Terminate"),
    ]);
    expect(terminated.status()).toBe(200);
    await pageStatus("cancelled");
    await page.locator("#action-message", { hasText: "terminated stop-1" }).waitFor(WAIT);
    expect(await api<RunJson>("/api/runs/stop-1")).toMatchObject({ status: "cancelled", error: { code: "terminated" } });
    expect(await page.locator("text=Send signal").isDisabled()).toBe(true);

    // Retry of a run that completed is refused by the server (501 today); the page shows its message.
    await page.goto(`${server.url}/#/runs/watch-1`);
    await pageStatus("completed");
    const [retried] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/api/runs/watch-1/retry")),
      page.click("text=Retry"),
    ]);
    expect(retried.ok()).toBe(false);
    const body = (await retried.json()) as { error: { message: string } };
    await page.locator("#action-message", { hasText: `retry: ${body.error.message}` }).waitFor(WAIT);
  });

  it("Retry with the grant a run failed without: the page shows the retry as a second attempt and follows the run to completed", async () => {
    await start("denied-1", "steps", { n: 2, url: targetUrl });
    await page.goto(`${server.url}/#/runs/denied-1`);
    await pageStatus("failed");
    await page.locator("#attempts tbody tr").first().waitFor(WAIT);
    expect(await page.locator("#attempts tbody tr").count()).toBe(1);
    // Widening the stored grants (none) needs the box ticked; the server refuses the retry without it.
    await page.fill('input[name="grants"]', '{"net": ["127.0.0.1"]}');
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/api/runs/denied-1/retry")),
      page.click("button:text('Retry')"),
    ]);
    expect(refused.ok()).toBe(false);
    await page.locator("#action-message", { hasText: "retry: " }).waitFor(WAIT);
    expect((await api<RunJson>("/api/runs/denied-1")).status).toBe("failed");
    await page.check('input[name="widen_grants"]');
    const [retried] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/api/runs/denied-1/retry")),
      page.click("button:text('Retry')"),
    ]);
    expect(retried.status()).toBe(200);
    expect(retried.request().postDataJSON()).toEqual({ grants: { net: ["127.0.0.1"] }, widen_grants: true });
    await page.locator("#action-message", { hasText: "retried: the run continues" }).waitFor(WAIT);
    await pageStatus("completed");
    await page.locator("#attempts tbody tr").nth(1).waitFor(WAIT);
    expect(await page.locator("#attempts tbody tr").count()).toBe(2);
    const run = await api<RunJson & { grants: { net?: { host: string }[] } }>("/api/runs/denied-1");
    expect(run).toMatchObject({ status: "completed", output: { steps: 2 } });
    expect(run.grants.net?.map((n) => n.host)).toEqual(["127.0.0.1"]);
    const journal = await api<{ retries: { number: number }[] }>("/api/runs/denied-1/journal");
    expect(journal.retries.map((r) => r.number)).toEqual([1]);
  });

  it("Fork starts a run from the journal's first entries; the page goes to it and a worker completes it", async () => {
    await page.goto(`${server.url}/#/runs/watch-1`);
    await pageStatus("completed");
    await page.fill('input[name="at"]', "2");
    await page.click("button:text('Fork')");
    await page.waitForURL(/#\/runs\/(?!watch-1$)[^/]+$/);
    const id = decodeURIComponent(new URL(page.url()).hash.slice("#/runs/".length));
    await pageStatus("completed");
    const forked = await api<RunJson>(`/api/runs/${id}`);
    expect(forked.forked_from).toEqual({ run: "watch-1", seq: 2 });
    await page.locator(".facts a", { hasText: "watch-1" }).waitFor(WAIT);
  });

  it("the parent and children tree links a run to its children and a child to its parent", async () => {
    const parent = await start("family-1", "fanout", { n: 2, url: targetUrl }, true);
    await page.goto(`${server.url}/#/runs/${parent.id}`);
    await pageStatus("completed");
    const children = await page.locator("#family li li a").allTextContents();
    expect(children).toEqual(["family-1.1", "family-1.2"]);
    await page.click("#family >> text=family-1.2");
    await page.waitForURL(/#\/runs\/family-1\.2$/);
    await page.locator("#family li:not(.current) > a", { hasText: "family-1" }).first().waitFor(WAIT);
    expect(await page.locator("#family li.current > .mono").textContent()).toBe("family-1.2");
  });

  it("a worker SIGKILLed in an HTTP call: the timeline marks where each attempt begins and the crash point; the attempts table lists both", async () => {
    // One worker at a time, so the one killed is the one that holds the run.
    await worker.stop();
    // A run's first call commits its intent on its own: while it is made, the timeline shows it in flight.
    let answer!: () => void;
    const answered = new Promise<void>((r) => (answer = r));
    target.hold = (r) => (r.method === "GET" ? answered : Promise.resolve());
    const doomed = startWorker(w);
    await start("flight-1", "slow", { url: targetUrl }, true);
    await page.goto(`${server.url}/#/runs/flight-1`);
    await page.locator('#timeline .tl-entry[data-seq="1"] .mark-flight').waitFor(WAIT);
    answer();
    await pageStatus("completed");
    expect(await page.locator("#timeline .mark-flight").count()).toBe(0);

    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    target.hold = (r) => (r.body === "1" ? held : Promise.resolve());
    const before = target.received.length;
    await start("crash-1", "steps", { n: 3, url: targetUrl }, true);
    await page.goto(`${server.url}/#/runs/crash-1`);
    await pageStatus("running");
    const end = Date.now() + 60_000;
    while (!target.received.slice(before).some((r) => r.body === "1")) {
      if (Date.now() > end) throw new Error("step 1 never reached the target");
      await new Promise((r) => setTimeout(r, 50));
    }
    // The second POST commits what came before it (the first's result, the log line), no intent of its own:
    // the page shows those two entries, then the worker dies in the call.
    await page.locator('#timeline .tl-entry[data-seq="2"]').waitFor(WAIT);
    await doomed.stop("SIGKILL");
    target.hold = () => Promise.resolve();
    release();
    worker = startWorker(w);
    await pageStatus("completed");

    const journal = await api<{ entries: (Entry & { attempt: number | null })[]; attempts: { number: number; crashed: boolean }[] }>(
      "/api/runs/crash-1/journal",
    );
    expect(journal.attempts.map((a) => a.crashed)).toEqual([true, false]);
    await page.locator('#timeline .tl-attempt[data-attempt="2"]').waitFor(WAIT);
    expect(await page.locator("#timeline .tl-attempt").evaluateAll((els) => els.map((e) => Number(e.dataset.attempt)))).toEqual([1, 2]);
    expect(await page.locator("#timeline .tl-bar").count()).toBe(journal.entries.length);
    // The crash point: the last entry attempt 1 wrote.
    const lastOfFirst = journal.entries.filter((e) => e.attempt === 1).at(-1);
    await page.locator(`#timeline .tl-entry[data-seq="${lastOfFirst.seq}"] .mark-crash`).waitFor(WAIT);
    expect(await page.locator("#timeline .mark-crash").count()).toBeGreaterThanOrEqual(1);
    expect(await page.locator("#attempts tbody tr").count()).toBe(2);
    expect(await page.locator('#attempts tr[data-attempt="1"]').textContent()).toContain("crashed");
    // Every entry of a new run has its times: the bars are on a time axis.
    expect(await page.locator('#timeline .timeline[data-mode="time"]').count()).toBe(1);
    // The screenshot of the README: the entry the second attempt made again, selected.
    await page.locator(`#timeline .tl-entry[data-seq="${lastOfFirst.seq + 1}"]`).click();
    await page.locator(`#entry .entry-detail[data-seq="${lastOfFirst.seq + 1}"]`).waitFor(WAIT);
    const shot = await page.screenshot({ fullPage: false, path: SCREENSHOT ?? join(w.dir, "console.png") });
    expect(shot.subarray(1, 4).toString()).toBe("PNG");
  });

  it("with a token the page asks for it, or takes it from #token=, and then works", async () => {
    await page.goto(`${guarded.url}/`);
    await page.locator("text=This server needs a token").waitFor(WAIT);
    await page.goto(`${guarded.url}/#token=${TOKEN}`);
    await page.locator('tr[data-run="watch-1"]').waitFor(WAIT);
    expect(new URL(page.url()).hash).toBe("#/");
    // The logs stream is read with fetch, so it carries the token too.
    await page.click('a:text("watch-1")');
    await page.locator(".log-state", { hasText: "ended, run completed" }).waitFor(WAIT);
    expect(await page.locator("#log .log-message").allTextContents()).toEqual(["step 0", "step 1", "step 2"]);
  });

  it("the page loads nothing from elsewhere and breaks no Content-Security-Policy rule", () => {
    expect(foreign).toEqual([]);
    // The browser logs every error answer (401 before the token, 501 of retry) as "Failed to load resource".
    expect(problems.filter((p) => !p.includes("Failed to load resource: the server responded with a status of"))).toEqual([]);
  });

  it("serves its files with their types and a strict CSP, and nothing outside console/", async () => {
    const host = new URL(server.url).host;
    const types: [string, RegExp][] = [
      ["/", /^text\/html; charset=utf-8$/],
      ["/app.js", /^text\/javascript; charset=utf-8$/],
      ["/console.css", /^text\/css; charset=utf-8$/],
      ["/favicon.svg", /^image\/svg\+xml$/],
    ];
    for (const [path, type] of types) {
      const res = await raw(server.url, "GET", path, { host });
      expect([path, res.status]).toEqual([path, 200]);
      expect(res.headers["content-type"]).toMatch(type);
      expect(res.headers["content-security-policy"]).toMatch(/default-src 'none'; script-src 'self'; style-src 'self'/);
      expect(res.headers["content-security-policy"]).toMatch(/frame-ancestors 'none'/);
      expect(res.headers["content-security-policy"]).not.toMatch(/unsafe-inline|unsafe-eval/);
      expect(res.headers["x-content-type-options"]).toBe("nosniff");
    }
    const html = (await raw(server.url, "GET", "/", { host })).body;
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\son[a-z]+=|style=/);

    const pkg = readFileSync(join(import.meta.dirname, "..", "package.json"), "utf8");
    for (const path of [
      "/../package.json",
      "/..%2fpackage.json",
      "/%2e%2e/package.json",
      "/%2e%2e%2fpackage.json",
      "/console.css/../../package.json",
      "//etc/passwd",
      "/..\\package.json",
      "/.%2e/.%2e/etc/passwd",
      "/app.js%00.html",
    ]) {
      const res = await raw(server.url, "GET", path, { host });
      expect([path, res.status]).toEqual([path, 404]);
      expect(res.body).not.toContain(pkg.slice(0, 40));
      expect(res.body).not.toContain("root:");
    }
    expect((await raw(server.url, "POST", "/", { host })).status).toBe(405);
    // A foreign Host (DNS rebinding) is refused for the page too; the API keeps its own answers.
    expect((await raw(server.url, "GET", "/", { host: "evil.example" })).status).toBe(403);
    expect((await raw(guarded.url, "GET", "/", { host: new URL(guarded.url).host })).status).toBe(200);
    expect((await raw(guarded.url, "GET", "/api/runs", { host: new URL(guarded.url).host })).status).toBe(401);
  });
});
