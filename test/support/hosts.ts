// Simulated hosts for cross-host tests. With root and iproute2, each "host" is a network namespace
// with its own hostname (a UTS namespace), joined to this machine by a veth pair on a private
// bridge; it cannot reach this machine's 127.0.0.1 at all. Servers of the test (PostgreSQL, HTTP)
// are reached through TCP relays that this process opens on the bridge's address. Without root
// (or without `ip`, or with DWE_TEST_NO_NETNS set), hosts are plain processes (their lease owner
// ids differ by pid) and the relays listen on 127.0.0.1.
// Only addresses on the private bridge (10.231.x.0/24) and 127.0.0.0/8 are ever used.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import net from "node:net";
import { DWE } from "./cli.js";
import { exited } from "./cli.js";

export interface Host {
  name: string;
  /** Spawns `node bin/dwe.js ARGS` on this host. */
  dwe(args: string[], opts: { cwd: string; env?: Record<string, string> }): ChildProcess;
}

export interface Network {
  /** "netns" when hosts are network namespaces, "processes" otherwise. */
  mode: "netns" | "processes";
  /** Address the hosts reach this machine at. */
  address: string;
  hosts: Host[];
  /** Opens a TCP relay on `address` to 127.0.0.1:`port`; returns the relay's port. */
  relay(port: number): Promise<number>;
  teardown(): Promise<void>;
}

function ip(args: string[]): void {
  const r = spawnSync("ip", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr || r.error?.message}`);
}

function netnsPossible(): string | null {
  if (process.env.DWE_TEST_NO_NETNS) return "DWE_TEST_NO_NETNS is set";
  if (process.getuid?.() !== 0) return "not root";
  const r = spawnSync("ip", ["netns", "list"], { encoding: "utf8" });
  if (r.status !== 0) return `iproute2 unusable (${r.stderr || r.error?.message})`;
  if (spawnSync("unshare", ["--uts", "true"]).status !== 0) return "unshare --uts failed";
  return null;
}

/**
 * A host that differs from this one only by its hostname (a UTS namespace of its own; the same
 * network and files), so the lease owners it starts (`NAME:PID:…`) cannot be judged by their pid
 * here; or why this machine cannot make one (root and `unshare --uts` are needed).
 */
export function hostNamed(name: string): { host: Host } | { unavailable: string } {
  if (process.getuid?.() !== 0) return { unavailable: "not root" };
  if (spawnSync("unshare", ["--uts", "true"]).status !== 0) return { unavailable: "unshare --uts failed" };
  return {
    host: {
      name,
      // `unshare` without --fork and `sh -c … exec` replace themselves: the child's pid is node's pid.
      dwe: (args, opts) =>
        spawn("unshare", ["--uts", "sh", "-c", `hostname ${name} && exec "$0" "$@"`, process.execPath, DWE, ...args], {
          cwd: opts.cwd,
          stdio: ["ignore", "pipe", "pipe"],
          env: { ...process.env, ...opts.env },
        }),
    },
  };
}

/** Creates `count` hosts. Call `teardown` in afterAll: it removes namespaces, links and relays. */
export async function createNetwork(count: number, log: (line: string) => void = () => undefined): Promise<Network> {
  const servers: net.Server[] = [];
  const sockets = new Set<net.Socket>();
  const relayOn = (address: string) => (port: number) =>
    new Promise<number>((resolve, reject) => {
      const server = net.createServer((inbound) => {
        const outbound = net.connect(port, "127.0.0.1");
        for (const s of [inbound, outbound]) {
          sockets.add(s);
          s.on("close", () => sockets.delete(s));
          s.on("error", () => undefined);
        }
        inbound.pipe(outbound).pipe(inbound);
        const end = () => (inbound.destroy(), outbound.destroy());
        inbound.on("close", end);
        outbound.on("close", end);
      });
      server.once("error", reject);
      server.listen(0, address, () => resolve((server.address() as net.AddressInfo).port));
      servers.push(server);
    });
  const closeRelays = async () => {
    for (const s of sockets) s.destroy();
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  };

  const why = netnsPossible();
  if (why !== null) {
    log(`cross-host tests: network namespaces unavailable (${why}); hosts are separate processes on 127.0.0.1`);
    const hosts = Array.from({ length: count }, (_, i) => ({
      name: `host-${String.fromCharCode(97 + i)}`,
      dwe: (args: string[], opts: { cwd: string; env?: Record<string, string> }) =>
        spawn(process.execPath, [DWE, ...args], { cwd: opts.cwd, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...opts.env } }),
    }));
    return { mode: "processes", address: "127.0.0.1", hosts, relay: relayOn("127.0.0.1"), teardown: closeRelays };
  }

  const tag = randomBytes(2).toString("hex");
  // A /24 no interface on this machine uses yet (several test runs may be creating hosts at once).
  const used = spawnSync("ip", ["-4", "-o", "addr", "show"], { encoding: "utf8" }).stdout;
  let subnet = `10.231.${randomInt(1, 250)}`;
  for (let i = 0; i < 50 && used.includes(` ${subnet}.`); i++) subnet = `10.231.${randomInt(1, 250)}`;
  const bridge = `dwe-br-${tag}`;
  const made: { ns: string[]; links: string[] } = { ns: [], links: [bridge] };
  const teardown = async () => {
    await closeRelays();
    for (const ns of made.ns) spawnSync("ip", ["netns", "del", ns]);
    for (const link of made.links) spawnSync("ip", ["link", "del", link]);
  };
  try {
    ip(["link", "add", bridge, "type", "bridge"]);
    ip(["addr", "add", `${subnet}.1/24`, "dev", bridge]);
    ip(["link", "set", bridge, "up"]);
    const hosts: Host[] = [];
    for (let i = 0; i < count; i++) {
      const name = `host-${String.fromCharCode(97 + i)}`;
      const ns = `dwe-${tag}-${i}`;
      const outer = `dwe-${tag}-${i}h`;
      const inner = `dwe-${tag}-${i}n`;
      ip(["netns", "add", ns]);
      made.ns.push(ns);
      ip(["link", "add", outer, "type", "veth", "peer", "name", inner]);
      made.links.push(outer);
      ip(["link", "set", inner, "netns", ns]);
      ip(["link", "set", outer, "master", bridge]);
      ip(["link", "set", outer, "up"]);
      ip(["netns", "exec", ns, "ip", "addr", "add", `${subnet}.${i + 2}/24`, "dev", inner]);
      ip(["netns", "exec", ns, "ip", "link", "set", inner, "up"]);
      ip(["netns", "exec", ns, "ip", "link", "set", "lo", "up"]);
      hosts.push({
        name,
        // `ip netns exec` and `sh -c … exec` replace themselves: the child's pid is node's pid.
        dwe: (args, opts) =>
          spawn(
            "ip",
            ["netns", "exec", ns, "unshare", "--uts", "sh", "-c", `hostname ${name} && exec "$0" "$@"`, process.execPath, DWE, ...args],
            { cwd: opts.cwd, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...opts.env } },
          ),
      });
    }
    log(`cross-host tests: ${count} network namespaces on bridge ${bridge} (${subnet}.0/24)`);
    return { mode: "netns", address: `${subnet}.1`, hosts, relay: relayOn(`${subnet}.1`), teardown };
  } catch (err) {
    await teardown();
    throw err;
  }
}

/** A running `dwe worker` on a host. */
export interface HostWorker {
  host: Host;
  child: ChildProcess;
  log: () => string;
  kill: (signal: NodeJS.Signals) => void;
  stop: (signal?: NodeJS.Signals) => Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startHostWorker(host: Host, db: string, cwd: string, env: Record<string, string> = {}): HostWorker {
  const child = host.dwe(["--db", db, "worker", "--threads", "1"], { cwd, env: { DWE_LEASE_TTL_MS: "2000", DWE_POLL_MS: "100", ...env } });
  let log = "";
  child.stderr!.on("data", (c: Buffer) => (log += c.toString()));
  child.stdout!.on("data", (c: Buffer) => (log += c.toString()));
  return {
    host,
    child,
    log: () => log,
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    stop: async (signal = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) {
        if (signal !== "SIGKILL") child.kill("SIGCONT");
        child.kill(signal);
      }
      return exited(child);
    },
  };
}
