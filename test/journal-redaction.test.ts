// Credentials a guest sends or receives over HTTP are used, but never shown: `dwe journal` (and so
// the HTTP API and the console, which serve the same view) redacts the Authorization header, a
// password in the URL and a response's Set-Cookie, even with --full; the rest stays visible.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dwe, runFor, workdir } from "./support/cli.js";
import { opGuest } from "./support/op-guest.js";
import { RawHttpServer } from "./support/servers.js";

describe("the journal view hides credentials", () => {
  const w = workdir("dwe-redact-");
  const server = new RawHttpServer((s) =>
    s.end("HTTP/1.1 200 OK\r\nSet-Cookie: session=cookie-s3cret\r\nX-Seen: yes\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"),
  );
  let url = "";
  beforeAll(async () => {
    url = await server.start();
  });
  afterAll(async () => {
    await server.stop();
    w.cleanup();
  });

  it("Authorization, a URL's password and Set-Cookie are [redacted] in `dwe journal --json --full`; the server got them", async () => {
    const target = url.replace("http://", "http://ada:url-s3cret@") + "orders";
    const m = opGuest(w.dir, "secret", "http.request", {
      url: target,
      method: "POST",
      headers: { Authorization: "Bearer header-s3cret", "X-Trace": "visible-value" },
      body: new TextEncoder().encode("hello"),
    });
    const r = await runFor(w, ["run", m, "--id", "secret", "--allow-net", "127.0.0.1", "--quiet"]);
    expect(r.code, r.stderr).toBe(0);
    // The credentials were sent as the guest asked.
    const head = server.heads[0]!;
    expect(head).toMatch(/^authorization: Bearer header-s3cret$/im);
    expect(head).toMatch(/^x-trace: visible-value$/im);

    for (const flags of [["--json", "--full"], ["--json"], []]) {
      const j = dwe(["journal", "secret", ...flags], { cwd: w.dir, db: w.db });
      expect(j.code, j.stderr).toBe(0);
      expect(j.stdout).not.toMatch(/s3cret/);
      expect(j.stdout).toContain("[redacted]");
    }
    const view = JSON.parse(dwe(["journal", "secret", "--json", "--full"], { cwd: w.dir, db: w.db }).stdout) as {
      entries: { op: string; request?: { url: string; headers: Record<string, string> }; response?: { headers: Record<string, string> } }[];
    };
    const call = view.entries.find((e) => e.op === "http.request" && e.response !== undefined)!;
    expect(call.request!.url).toBe(target.replace("url-s3cret", "[redacted]"));
    expect(call.request!.headers).toEqual({ Authorization: "[redacted]", "X-Trace": "visible-value" });
    expect(call.response!.headers).toMatchObject({ "set-cookie": "[redacted]", "x-seen": "yes" });
  });
});
