import fs from "node:fs";

// When the workload's main process exits, what it started may live on: background jobs,
// double-forked or setsid'd daemons, all free to keep rearranging the working copy while
// the entrypoint reads it. Before anything is read, every process of the runtime uid ends.

const ROUNDS = 200;
const PAUSE_MS = 10;

/** What runs as PID 1 and between it and us in a container: the images' tini, `docker run --init`'s docker-init. */
const INITS = new Set(["tini", "docker-init"]);

/**
 * Whether every process in sight belongs to this run: our PID namespace is the container's
 * (we are its PID 1, or only inits stand between PID 1 and us) and /proc is that
 * namespace's. On a host, other processes may share the runtime uid, and ending them is not
 * ours to do.
 */
export function ownsPidNamespace(): boolean {
  try {
    if (fs.readlinkSync("/proc/self") !== String(process.pid)) return false;
    if (process.pid === 1) return true;
    for (let pid = process.ppid; ; pid = parentOf(pid)) {
      if (!INITS.has(fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim())) return false;
      if (pid === 1) return true;
    }
  } catch {
    return false;
  }
}

function parentOf(pid: number): number {
  // /proc/PID/stat: "pid (comm) state ppid …"; comm may hold spaces and parentheses.
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
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
