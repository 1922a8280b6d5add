// The process groups of running `exec` commands, so that none outlives its call, its run or dwe.
// Each command is started as the leader of its own group (spawn's `detached`), so one signal to the
// group reaches everything it started (short of a process that makes itself a new session).
//
// Groups started in a worker thread are also announced to the main thread: a thread that is
// terminated (a watchdog, a run's timeout) runs no more code of its own, and only the main
// thread sees the process exit. The main thread kills a thread's groups when the thread exits
// (`killGroupsOfThread`) and every group left when the process exits.
// node:worker_threads is loaded when a group is started or a thread is, not when dwe starts
// (kernel/node-modules.ts).
import type { BroadcastChannel } from "node:worker_threads";
import { nodeWorkerThreads } from "../engine/kernel/node-modules.js";

type Announcement = { started: number; thread: number } | { ended: number };

const CHANNEL = "dwe:exec-process-groups";
/** Groups started by this thread, by leader pid. */
const mine = new Set<number>();
/** Main thread: groups started by worker threads, leader pid to thread id. */
const theirs = new Map<number, number>();
/** Worker thread: where it announces its groups. */
let channel: BroadcastChannel | null = null;
/** Main thread: where the announcements arrive, from `watchThreadGroups` on. */
let listener: BroadcastChannel | null = null;
let exitHandled = false;

/** Main thread: at this process's exit, every group left is killed. */
function killAllAtExit(): void {
  if (exitHandled) return;
  exitHandled = true;
  process.on("exit", () => {
    for (const pid of mine) killGroup(pid);
    for (const pid of theirs.keys()) killGroup(pid);
  });
}

function announce(m: Announcement): void {
  const { BroadcastChannel, isMainThread } = nodeWorkerThreads();
  if (isMainThread) return;
  if (!channel) {
    channel = new BroadcastChannel(CHANNEL);
    channel.unref();
  }
  channel.postMessage(m);
}

/**
 * Main thread, before it starts a thread that may run commands: from now on the groups worker
 * threads start are known here, killed when their thread exits (`killGroupsOfThread`) or this
 * process does. A message is delivered only to channels open when it is posted, hence before.
 */
export function watchThreadGroups(): void {
  const { BroadcastChannel, isMainThread } = nodeWorkerThreads();
  if (listener || !isMainThread) return;
  killAllAtExit();
  listener = new BroadcastChannel(CHANNEL);
  listener.unref();
  listener.onmessage = (e: unknown) => {
    const m = (e as { data: Announcement }).data;
    if ("started" in m) theirs.set(m.started, m.thread);
    else theirs.delete(m.ended);
  };
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
  if (nodeWorkerThreads().isMainThread) killAllAtExit();
  mine.add(pid);
  announce({ started: pid, thread: nodeWorkerThreads().threadId });
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
