import type { HostFunction } from "../types.js";
import { BadRequest, RequestFields } from "../request-fields.js";

/** Largest piece of stdout/stderr journaled as one log line; longer writes are short writes. */
export const MAX_STDIO_WRITE = 64 * 1024;

const TEXT = new TextDecoder("utf-8");

interface StdioWrite {
  fd: number;
  data: Uint8Array;
}

/**
 * `wasi.fd_write` to stdout/stderr: a `note`. The bytes are the log line stored with the journal
 * entry (stream `stdout`/`stderr`), printed once when committed and shown once by `dwe logs`;
 * a replayed write prints nothing. Bytes that are not UTF-8 are shown with U+FFFD.
 */
export const stdioWrite: HostFunction<StdioWrite> = {
  name: "wasi.fd_write",
  kind: "note",
  parse(r) {
    const f = new RequestFields("wasi.fd_write", r);
    const fd = f.uint("fd");
    if (fd !== 1 && fd !== 2) throw new BadRequest("wasi.fd_write", "fd must be 1 (stdout) or 2 (stderr)");
    return { fd, data: f.bytes("data") };
  },
  perform: () => undefined,
  logLine: (req) =>
    req.fd === 2
      ? { level: "error", message: TEXT.decode(req.data), stream: "stderr" }
      : { level: "info", message: TEXT.decode(req.data), stream: "stdout" },
};
