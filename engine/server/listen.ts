import { isIP } from "node:net";
import { UsageError } from "../kernel/errors.js";

export const DEFAULT_LISTEN = "127.0.0.1:7070";

/** Where the server listens: `HOST:PORT` (`[::1]:PORT` for IPv6); port 0 picks a free one. */
export interface ListenAddress {
  host: string;
  port: number;
  loopback: boolean;
}

/** True for 127.0.0.0/8, ::1 and the name `localhost`: only this machine can connect. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h === "localhost" || h === "::1") return true;
  return isIP(h) === 4 && h.startsWith("127.");
}

export function parseListen(text: string): ListenAddress {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (!m || host === undefined || !Number.isInteger(port) || port > 65535 || (m[1] !== undefined && isIP(m[1]) !== 6)) {
    throw new UsageError(`bad --listen '${text}': give HOST:PORT, e.g. 127.0.0.1:7070 ([::1]:7070 for IPv6; port 0 picks a free one)`);
  }
  return { host, port, loopback: isLoopbackHost(host) };
}
