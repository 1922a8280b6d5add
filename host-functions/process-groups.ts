// The process groups of running `exec` commands, so that none outlives its call, its run or dwe.
// Each command is started as the leader of its own group (spawn's `detached`), so one signal to the
// group reaches everything it started (short of a process that makes itself a new session).
//
// Groups started in a worker thread are also announced to the main thread: a thread that is
// terminated (a watchdog, a run's timeout) runs no more code of its own, and only the main
// thread sees the process exit. The main thread kills a thread's groups when the thread exits
// (`killGroupsOfThread`) and every group left when the process exits.
import { BroadcastChannel, isMainThread, threadId } from "node:worker_threads";

type Announcement = { started: number; thread: number } | { ended: number };

const CHANNEL = "dwe:exec-process-groups";
/** Groups started by this thread, by leader pid. */
const mine = new Set<number>();
/** Main thread: groups started by worker threads, leader pid to thread id. */
const theirs = new Map<number, number>();
let channel: BroadcastChannel | null = null;

function announce(m: Announcement): void {
  if (isMainThread) return;
  if (!channel) {
    channel = new BroadcastChannel(CHANNEL);
    channel.unref();
  }
  channel.postMessage(m);
}

if (isMainThread) {
  const listener = new BroadcastChannel(CHANNEL);
  listener.unref();
  listener.onmessage = (e: unknown) => {
    const m = (e as { data: Announcement }).data;
    if ("started" in m) theirs.set(m.started, m.thread);
    else theirs.delete(m.ended);
  };
  process.on("exit", () => {
    for (const pid of mine) killGroup(pid);
    for (const pid of theirs.keys()) killGroup(pid);
  });
}

/** Sends SIGKILL to the whole process group led by `pid` (gone already: nothing to do). */
export function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // ESRCH: the group has no process left.
  }
}

export function trackGroup(pid: number): void {
  mine.add(pid);
  announce({ started: pid, thread: threadId });
}

export function untrackGroup(pid: number): void {
  mine.delete(pid);
  announce({ ended: pid });
}

/** Main thread: kills the groups a worker thread started and did not end (the thread has exited). */
export function killGroupsOfThread(thread: number): void {
  for (const [pid, t] of theirs) {
    if (t !== thread) continue;
    killGroup(pid);
    theirs.delete(pid);
  }
}
