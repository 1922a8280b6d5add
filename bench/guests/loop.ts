// Benchmark guest (AssemblyScript). Input: "CLOCKS [HTTPS [EXECS [URL [SLEEP_MS]]]]" (space-separated).
// Reads the clock CLOCKS times, sends HTTPS GET requests to URL, runs `true` EXECS times, sleeps
// SLEEP_MS (durable), and outputs the sum of the clock's low bits. Every call is journaled.
import { now, sleep, http, HttpRequest, exec, inputString, outputString } from "../../guest-sdk/assemblyscript";

export function run(): void {
  const parts = inputString().split(" ");
  const clocks = parts.length > 0 ? I32.parseInt(parts[0]) : 0;
  const https = parts.length > 1 ? I32.parseInt(parts[1]) : 0;
  const execs = parts.length > 2 ? I32.parseInt(parts[2]) : 0;
  const url = parts.length > 3 ? parts[3] : "";
  const sleepMs = parts.length > 4 ? I64.parseInt(parts[4]) : 0;
  let sum: i64 = 0;
  for (let i = 0; i < clocks; i++) sum += now() & 0xff;
  for (let i = 0; i < https; i++) sum += <i64>http(new HttpRequest(url)).status;
  for (let i = 0; i < execs; i++) sum += <i64>exec(["true"]).code;
  if (sleepMs > 0) sleep(sleepMs);
  outputString(sum.toString());
}
