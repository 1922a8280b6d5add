import { DweError, RunNotFound, RunStateError, StoreError, UsageError } from "../kernel/errors.js";

/** An error the HTTP API answers with its own status: `{"error": {"code", "message"}}` (docs/http-api.md). */
export class HttpError extends DweError {
  override name = "HttpError";
  constructor(
    readonly status: number,
    code: string,
    message: string,
    /** Extra response headers (`Allow`, `WWW-Authenticate`). */
    readonly headers: Record<string, string> = {},
  ) {
    super(code, message);
  }
}

/** Codes of engine errors that mean the request was wrong (a bad module, a bad grant), not the engine. */
const BAD_INPUT_CODES = new Set(["usage", "invalid_module", "invalid_run_file", "invalid_pipeline"]);

/**
 * The status and JSON body of anything a handler threw. Engine errors keep their code and message
 * (they say what to do); anything else is an internal error whose details go to the server's log
 * only, never to the client.
 */
export function errorResponse(err: unknown): { status: number; code: string; message: string; headers: Record<string, string> } {
  if (err instanceof HttpError) return { status: err.status, code: err.code, message: err.message, headers: err.headers };
  if (err instanceof DweError) {
    const status =
      err instanceof RunNotFound
        ? 404
        : err instanceof RunStateError
          ? 409
          : err instanceof StoreError
            ? 503
            : err instanceof UsageError || BAD_INPUT_CODES.has(err.code)
              ? 400
              : 500;
    return { status, code: err.code, message: err.message, headers: {} };
  }
  return { status: 500, code: "internal", message: "internal error; the server's log has the details", headers: {} };
}

export const badRequest = (message: string, code = "bad_request") => new HttpError(400, code, message);
