import type { IncomingMessage } from "node:http";
import { HttpError, badRequest } from "./http-error.js";

/** Bodies are read only up to this by default (a module uploaded as base64 is the largest thing sent). */
export const DEFAULT_MAX_BODY = 64 * 1024 * 1024;

const utf8 = new TextDecoder("utf-8", { fatal: true });

export function tooLarge(limit: number): HttpError {
  return new HttpError(
    413,
    "body_too_large",
    `the request body is larger than the server's limit of ${limit} bytes (dwe server --max-body)`,
  );
}

/** The body's bytes, refused (413) past `limit`: by its Content-Length before reading, else as it arrives. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * The body as JSON (undefined when empty). Only `application/json` is accepted: the content types
 * a cross-site HTML form or a "simple" cross-site request can send (form, multipart, text/plain) are
 * refused, so a browser can never deliver one without a CORS preflight, which this server never grants.
 */
export async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  const bytes = await readBody(req, limit);
  if (bytes.length === 0 && type === "") return undefined;
  if (type !== "application/json") {
    throw new HttpError(
      415,
      "unsupported_media_type",
      `the body must be JSON sent as Content-Type: application/json (got ${type === "" ? "none" : `'${type}'`})`,
    );
  }
  if (bytes.length === 0) return undefined;
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw badRequest("the body is not UTF-8 text; send JSON", "bad_json");
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw badRequest(`the body is not valid JSON: ${(err as Error).message}`, "bad_json");
  }
}
