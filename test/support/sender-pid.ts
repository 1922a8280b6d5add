// Which local process opened a TCP connection to this one: the connection's remote port is the
// client socket's local port in /proc/net/tcp, whose inode is among that process's open fds. Lets a
// test's HTTP server say which worker sent each request (Linux only, same network namespace).
import { readFileSync, readdirSync, readlinkSync } from "node:fs";

/**
 * The inode of the client end of a loopback TCP connection from `clientPort` (to `serverPort`, when
 * given: the same client port may also be in use towards another server).
 */
function clientSocketInode(clientPort: number, serverPort?: number): string | null {
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      const [local, remote, inode] = [cols[1], cols[2], cols[9]];
      if (local === undefined || remote === undefined || inode === undefined) continue;
      const port = (address: string) => parseInt(address.slice(address.lastIndexOf(":") + 1), 16);
      if (port(local) === clientPort && (serverPort === undefined || port(remote) === serverPort)) return inode;
    }
  }
  return null;
}

/**
 * The pid among `pids` holding the client end of the connection from `remotePort` (to this
 * process's `serverPort`, when given), or null.
 */
export function senderPid(remotePort: number, pids: readonly number[], serverPort?: number): number | null {
  const inode = clientSocketInode(remotePort, serverPort);
  if (inode === null) return null;
  const want = `socket:[${inode}]`;
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === want) return pid;
      } catch {
        // closed meanwhile
      }
    }
  }
  return null;
}

/** The state letter of a process from /proc/PID/stat (R, S, T stopped, Z zombie …), or null if gone. */
export function processState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  } catch {
    return null;
  }
}
