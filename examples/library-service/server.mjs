// library-service: dwe embedded in a small Node HTTP service (docs/api.md). Each POST starts a run
// of the hello workflow with the request body as its input and answers with the run's result; the
// runs are durable (journaled in the database), so a crash mid-request loses nothing already done
// and `GET /runs/ID` reads a result again later.
//
//   node examples/library-service/server.mjs [--db FILE|postgres://…] [--port N]
//   curl -d '{"name": "ana"}' http://127.0.0.1:8080/greet   ->  {"id": "…", "result": {"greeting": "hello, ana"}}
//
// In a project that installed dwe, the import is `import { Dwe, RunFailed, RunNotFound } from "dwe"`.
import http from "node:http";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { Dwe, RunFailed, RunNotFound } from "../../dist/engine/api/index.js";

const { values } = parseArgs({ options: { db: { type: "string" }, port: { type: "string", default: "8080" } } });
const workflow = fileURLToPath(new URL("../hello/build/hello.wasm", import.meta.url));
const dwe = await Dwe.open({ db: values.db ?? ".dwe/library-service.db" });

function reply(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body) + "\n");
}

async function readBody(req) {
  let body = "";
  for await (const chunk of req) body += chunk;
  return body;
}

const server = http.createServer(async (req, res) => {
  try {
    if (req.method === "POST" && req.url === "/greet") {
      const body = await readBody(req);
      let input;
      try {
        input = JSON.parse(body || "{}");
      } catch {
        return reply(res, 400, { error: "the body must be JSON, such as {\"name\": \"ana\"}" });
      }
      // One durable run per request, executed in this process; its id is the request's handle.
      const run = await dwe.start(workflow, { input });
      return reply(res, 200, { id: run.id, result: await run.result() });
    }
    const m = /^\/runs\/([A-Za-z0-9._-]+)$/.exec(req.url ?? "");
    if (req.method === "GET" && m) {
      const run = await dwe.get(m[1]);
      return reply(res, 200, { id: run.id, status: run.status, result: run.output && JSON.parse(Buffer.from(run.output).toString()) });
    }
    reply(res, 404, { error: "POST /greet or GET /runs/ID" });
  } catch (err) {
    if (err instanceof RunFailed) return reply(res, 422, { id: err.runId, error: err.error });
    if (err instanceof RunNotFound) return reply(res, 404, { error: err.message });
    reply(res, 500, { error: err instanceof Error ? err.message : String(err) });
  }
});

server.listen(Number(values.port), "127.0.0.1", () => {
  // The test (and a supervisor) reads the port from this line.
  process.stdout.write(`listening on http://127.0.0.1:${server.address().port}\n`);
});

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    server.close();
    // Runs in flight stop at their next host call and stay resumable; the database is closed.
    void dwe.close().then(() => process.exit(0));
  });
}
