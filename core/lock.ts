import fs from "node:fs";
import os from "node:os";
import path from "node:path";

// A mkdir lock: atomic on every filesystem a store can live on (host dirs, volumes,
// bind mounts), and visible across containers. Holders that die leave it behind: a lock
// whose holder is provably gone (same PID namespace, no such process) is taken over at
// once, any other after `staleMs` without a heartbeat; takeover is a rename, so two
// waiters cannot both take it.

export type LockOptions = { timeoutMs?: number; staleMs?: number; pollMs?: number };
export type Lock = { release(): void; heartbeat(): void };

export class LockTimeoutError extends Error {}

const DEFAULT_STALE_MS = 30_000;

export async function acquireLock(lockDir: string, options: LockOptions = {}): Promise<Lock> {
  const { timeoutMs = 60_000, staleMs = DEFAULT_STALE_MS, pollMs = 15 } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (tryMkdir(lockDir)) return holding(lockDir);
    if (isStale(lockDir, staleMs)) breakStale(lockDir);
    else if (Date.now() > deadline) {
      throw new LockTimeoutError(`${lockDir} is held by another process for more than ${Math.round(timeoutMs / 1000)}s`);
    } else await sleep(pollMs + Math.random() * pollMs);
  }
}

/** Runs fn holding the lock, with a heartbeat so a slow holder (a refresh on a loaded machine) never looks stale. */
export async function withLock<T>(lockDir: string, fn: (lock: Lock) => T | Promise<T>, options?: LockOptions): Promise<T> {
  const lock = await acquireLock(lockDir, options);
  const heartbeat = setInterval(() => lock.heartbeat(), (options?.staleMs ?? DEFAULT_STALE_MS) / 4);
  heartbeat.unref();
  try {
    return await fn(lock);
  } finally {
    clearInterval(heartbeat);
    lock.release();
  }
}

function tryMkdir(lockDir: string): boolean {
  try {
    fs.mkdirSync(lockDir, { mode: 0o700 });
    fs.writeFileSync(path.join(lockDir, "owner"), `${processIdentity()} ${new Date().toISOString()}\n`);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
}

function holding(lockDir: string): Lock {
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      fs.rmSync(lockDir, { recursive: true, force: true });
    },
    heartbeat() {
      const now = new Date();
      if (held) fs.utimesSync(lockDir, now, now);
    },
  };
}

/** "<pid namespace> <pid>": a PID means something only inside its own namespace. */
function processIdentity(): string {
  let namespace = os.hostname();
  try {
    namespace = fs.readlinkSync("/proc/self/ns/pid");
  } catch {
    // No procfs: fall back to the host name.
  }
  return `${namespace} ${process.pid}`;
}

const OWNERLESS_GRACE_MS = 2_000;

function isStale(lockDir: string, staleMs: number): boolean {
  let age: number;
  try {
    age = Date.now() - fs.statSync(lockDir).mtimeMs;
  } catch {
    return false; // Removed right now: just try again.
  }
  if (age > staleMs) return true;
  let owner: string;
  try {
    owner = fs.readFileSync(path.join(lockDir, "owner"), "utf8");
  } catch {
    return age > OWNERLESS_GRACE_MS; // Its holder died between mkdir and writing its name.
  }
  // Empty or cut short: its holder died while writing it (or is writing it right now).
  const match = /^(\S+) (\d+) \S/.exec(owner);
  if (!match) return age > OWNERLESS_GRACE_MS;
  const [, namespace, pid] = match;
  return namespace === processIdentity().split(" ")[0] && !isAlive(Number(pid));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

function breakStale(lockDir: string): void {
  const grave = `${lockDir}.stale-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    fs.renameSync(lockDir, grave);
    fs.rmSync(grave, { recursive: true, force: true });
  } catch {
    // Someone else broke it first: fine, we just try again.
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
