import fs from "node:fs";

// When the workload's main process exits, what it started may live on: background jobs,
// double-forked or setsid'd daemons, all free to keep rearranging the working copy while
// the entrypoint reads it. Before anything is read, every process of the runtime uid ends.

const ROUNDS = 200;
const PAUSE_MS = 10;

/**
 * Whether every process in sight belongs to this run: our PID namespace is the container's
 * (we are its init, or tini is our parent) and /proc is that namespace's. On a host, other
 * processes may share the runtime uid, and ending them is not ours to do.
 */
export function ownsPidNamespace(): boolean {
  if (process.pid !== 1 && process.ppid !== 1) return false;
  try {
    return fs.readlinkSync("/proc/self") === String(process.pid);
  } catch {
    return false;
  }
}

/**
 * SIGKILLs every live process whose real, effective or saved uid is `uid`, round after round
 * until /proc shows none (a process may fork between a scan and its kill). Returns how
 * many were ended, and how many still lived after the last round.
 */
export function endProcessesOf(uid: number): { ended: number; remaining: number } {
  const ended = new Set<number>();
  for (let round = 0; round < ROUNDS; round++) {
    const live = liveProcessesOf(uid);
    if (live.length === 0) return { ended: ended.size, remaining: 0 };
    for (const pid of live) {
      try {
        process.kill(pid, "SIGKILL");
        ended.add(pid);
      } catch {
        // Gone between the scan and the kill.
      }
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, PAUSE_MS);
  }
  return { ended: ended.size, remaining: liveProcessesOf(uid).length };
}

function liveProcessesOf(uid: number): number[] {
  const pids: number[] = [];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    let status: string;
    try {
      status = fs.readFileSync(`/proc/${name}/status`, "utf8");
    } catch {
      continue; // exited while we listed
    }
    // Zombies are already dead; their parent (tini, in a container) reaps them.
    if (/^State:\s+[ZX]/m.test(status)) continue;
    const ids = /^Uid:\s+(\d+)\s+(\d+)\s+(\d+)/m.exec(status);
    if (ids && ids.slice(1, 4).map(Number).includes(uid)) pids.push(Number(name));
  }
  return pids;
}
