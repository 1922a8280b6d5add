// The web console (docs/console.md): the static files of console/ in the package, served at `/` by
// `dwe server`. They are read once when the server starts, so a request can only name one of them:
// no path ever reaches the file system.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { HttpError } from "./http-error.js";

/** The only kinds of file the console has, with the type each is served as. */
const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

/**
 * Scripts, styles and images from this server only and nothing inline; fetches to this server only;
 * no framing (another page cannot lay the console's buttons under its own), no forms, no <base>.
 */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

interface ConsoleFile {
  type: string;
  body: Buffer;
}

/** The console/ folder of this install: beside the nearest package.json above this file (from source or from dist/). */
export function consoleDir(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "package.json"))) return join(dir, "console");
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

/** The console's files by URL path (`/` is index.html); empty when the folder is missing. */
export function loadConsole(dir: string | null = consoleDir()): Map<string, ConsoleFile> {
  const files = new Map<string, ConsoleFile>();
  if (dir === null || !existsSync(dir)) return files;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const type = TYPES[extname(entry.name)];
    if (!entry.isFile() || type === undefined || entry.name.startsWith(".")) continue;
    files.set(`/${entry.name}`, { type, body: readFileSync(join(dir, entry.name)) });
  }
  const index = files.get("/index.html");
  if (index) files.set("/", index);
  return files;
}

/** Answers GET or HEAD of one of the console's files; anything else is a 404 (or 405 for another method). */
export function sendConsoleFile(files: Map<string, ConsoleFile>, method: string, path: string, res: ServerResponse): void {
  const file = files.get(path);
  if (!file) {
    const missing = files.size === 0 ? "; this install has no console/ folder (reinstall dwe)" : "";
    throw new HttpError(404, "not_found", `no such page: ${path} (the console is at /, the API under /api/)${missing}`);
  }
  if (method !== "GET" && method !== "HEAD") {
    throw new HttpError(405, "method_not_allowed", `${method} is not allowed on ${path}; use GET`, { Allow: "GET, HEAD" });
  }
  res.writeHead(200, {
    "Content-Type": file.type,
    "Content-Length": file.body.length,
    "Content-Security-Policy": CONSOLE_CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-cache",
  });
  res.end(method === "HEAD" ? undefined : file.body);
}
