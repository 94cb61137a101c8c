import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { UserError } from "./errors";

// The store lock, visible across processes and containers on every filesystem a store can
// live on. The lock is the directory `.lock` holding one empty file,
// `owner.<token>.<pid namespace>.<pid>`, whose random token names the holder (an empty
// file: taking the lock needs no free space, so a full disk can still be handled under it):
//   - take: build `.lock.new-<token>/owner.<token>...` and rename it to `.lock`; the rename
//     fails while another holder's (non-empty) `.lock` is there, so the lock appears
//     complete, owner and all, or not at all;
//   - release: unlink `.lock/owner.<token>`, then rmdir `.lock` (only ever an empty dir).
//     A holder that lost its lock finds no file of its name and touches nothing;
//   - heartbeat: set the times of `.lock/owner.<token>`; never another holder's file;
//   - stale: a waiter watches the owner file's times change on its own monotonic clock (no
//     comparison of two machines' clocks); unchanged for `staleMs`, or a holder provably gone
//     (same PID namespace, no such process), and the waiter unlinks that holder's file only.
// Lock files belong to the owner of the directory the lock lives in (the store owner), so
// a host user can read who holds a lock a root entrypoint took.

export type LockOptions = { timeoutMs?: number; staleMs?: number; pollMs?: number };
export type Lock = {
  release(): void;
  /** Refreshes the holder's mark; false (and the lock counts as lost) if it is no longer ours. */
  heartbeat(): boolean;
  /** Throws LockLostError unless this holder still holds the lock. */
  assertHeld(): void;
};

export class LockTimeoutError extends UserError {}
export class LockLostError extends UserError {}

const OWNER_PREFIX = "owner.";
let defaultStaleMs = 30_000;

/** Process-wide stale time (the entrypoint's --lock-stale); every party sharing a store should agree on it. */
export function configureLocks(options: { staleMs: number }): void {
  defaultStaleMs = options.staleMs;
}

export async function acquireLock(lockDir: string, options: LockOptions = {}): Promise<Lock> {
  const { timeoutMs = 60_000, staleMs = defaultStaleMs, pollMs = 15 } = options;
  const deadline = Date.now() + timeoutMs;
  const watch = new StaleWatch(staleMs);
  for (;;) {
    const token = crypto.randomBytes(12).toString("hex");
    if (tryTake(lockDir, token)) {
      removeLeftovers(lockDir);
      return holding(lockDir, token);
    }
    const holder = watch.observe(lockDir);
    if (holder.stale) breakStale(lockDir, holder);
    else if (Date.now() > deadline) {
      throw new LockTimeoutError(`${lockDir} is held by another process for more than ${Math.round(timeoutMs / 1000)}s`);
    } else await sleep(pollMs + Math.random() * pollMs);
  }
}

/**
 * Runs fn holding the lock, with a heartbeat so a slow holder (a refresh on a loaded
 * machine) never looks stale. A lost lock never throws from the timer: the holder finds
 * out at assertHeld() (a store checks it before it makes a capture current or spends a token).
 */
export async function withLock<T>(lockDir: string, fn: (lock: Lock) => T | Promise<T>, options?: LockOptions): Promise<T> {
  const lock = await acquireLock(lockDir, options);
  const heartbeat = setInterval(() => lock.heartbeat(), (options?.staleMs ?? defaultStaleMs) / 4);
  heartbeat.unref();
  try {
    return await fn(lock);
  } finally {
    clearInterval(heartbeat);
    lock.release();
  }
}

function tryTake(lockDir: string, token: string): boolean {
  const building = `${lockDir}.new-${token}`;
  const owner = lockOwner(lockDir);
  try {
    fs.mkdirSync(building, { mode: 0o700 });
    const file = path.join(building, ownerName(token));
    const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
    try {
      if (owner) fs.fchownSync(fd, owner.uid, owner.gid);
    } finally {
      fs.closeSync(fd);
    }
    if (owner) fs.chownSync(building, owner.uid, owner.gid);
    fs.renameSync(building, lockDir);
    return true;
  } catch (error) {
    fs.rmSync(building, { recursive: true, force: true });
    const code = (error as NodeJS.ErrnoException).code;
    // Held (a non-empty .lock), or our half-built dir removed by a holder's clean-up: wait and retry.
    if (code === "EEXIST" || code === "ENOTEMPTY" || code === "ENOENT") return false;
    throw error;
  }
}

/** Who lock files belong to: the owner of the directory the lock is in, when we are root and may give files away. */
function lockOwner(lockDir: string): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const stat = fs.statSync(path.dirname(lockDir));
  return stat.uid === 0 && stat.gid === 0 ? null : { uid: stat.uid, gid: stat.gid };
}

function holding(lockDir: string, token: string): Lock {
  const ownerFile = path.join(lockDir, ownerName(token));
  let state: "held" | "lost" | "released" = "held";
  let lastBeat = 0;
  const lock: Lock = {
    release() {
      if (state === "released") return;
      const mine = state === "held";
      state = "released";
      if (!mine) return;
      try {
        fs.unlinkSync(ownerFile); // ENOENT: a waiter judged us stale and took over; not ours to remove
        fs.rmdirSync(lockDir); // only an empty dir: never a lock someone took since
      } catch {
        // Lost, or someone else's lock is there now: leave it.
      }
    },
    heartbeat() {
      if (state !== "held") return false;
      // Each beat sets a new time, so a waiter sees it change even on a coarse clock.
      lastBeat = Math.max(Date.now(), lastBeat + 1000);
      try {
        fs.lutimesSync(ownerFile, new Date(lastBeat), new Date(lastBeat));
        return true;
      } catch {
        state = "lost"; // assertHeld says so
        return false;
      }
    },
    assertHeld() {
      if (state === "held" && lstatIsFile(ownerFile)) return;
      if (state === "held") state = "lost";
      throw new LockLostError(
        `lost the store lock ${lockDir}: another process took it over after this one showed no sign of life for the stale time (was it stopped or frozen?), so nothing was committed`,
      );
    },
  };
  return lock;
}

type Holder = { stale: boolean; ownerFile: string | null };

/** What a waiter has seen of the current holder, timed on its own monotonic clock. */
class StaleWatch {
  private seen: { mark: string; since: number } | null = null;

  constructor(private readonly staleMs: number) {}

  observe(lockDir: string): Holder {
    const { mark, ownerFile, gone } = inspect(lockDir);
    const now = performance.now();
    if (!this.seen || this.seen.mark !== mark) this.seen = { mark, since: now };
    return { stale: gone || now - this.seen.since >= this.staleMs, ownerFile };
  }
}

/**
 * The holder's mark (what its heartbeat changes), its owner file, and whether it is
 * provably gone. A lock whose owner cannot be read gets no shortcut: only the full stale time.
 */
function inspect(lockDir: string): { mark: string; ownerFile: string | null; gone: boolean } {
  let names: string[];
  try {
    names = fs.readdirSync(lockDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { mark: "none", ownerFile: null, gone: false };
    return { mark: statMark(lockDir), ownerFile: null, gone: false }; // not listable: watch the dir itself
  }
  const name = names.find((n) => n.startsWith(OWNER_PREFIX));
  if (!name) return { mark: `${statMark(lockDir)} ${names.join("/")}`, ownerFile: null, gone: false }; // an older version's lock
  const ownerFile = path.join(lockDir, name);
  const [, namespace, pid] = OWNER_NAME.exec(name) ?? [];
  const gone = namespace !== undefined && namespace === pidNamespace() && !isAlive(Number(pid));
  return { mark: `${name} ${statMark(ownerFile)}`, ownerFile, gone };
}

/** Times and identity of a file as the filesystem reports them: compared only with themselves. */
function statMark(file: string): string {
  try {
    const stat = fs.statSync(file, { bigint: true });
    return `${stat.ino}:${stat.mtimeNs}:${stat.ctimeNs}`;
  } catch {
    return "gone";
  }
}

/** owner.<token>.<pid namespace>.<pid>: a PID means something only inside its own namespace. */
function ownerName(token: string): string {
  return `${OWNER_PREFIX}${token}.${pidNamespace()}.${process.pid}`;
}
const OWNER_NAME = /^owner\.[0-9a-f]+\.([^.]+)\.(\d+)$/;

/** The PID namespace's inode number, or (no procfs) the host name in hex. */
function pidNamespace(): string {
  try {
    return /\d+/.exec(fs.readlinkSync("/proc/self/ns/pid"))![0];
  } catch {
    return `h${Buffer.from(os.hostname()).toString("hex")}`;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

/**
 * Removes the stale holder's own file, so a holder that wakes up finds its lock gone and a
 * lock someone took meanwhile is never touched; the empty dir left is taken by the next
 * rename. A lock in an older format (no owner file of ours) is moved aside instead.
 */
function breakStale(lockDir: string, holder: Holder): void {
  if (holder.ownerFile) {
    try {
      fs.rmSync(holder.ownerFile, { force: true });
    } catch {
      // Not ours to remove (another user's lock dir): keep waiting; the timeout says whose it is.
    }
    return;
  }
  const grave = `${lockDir}.stale-${crypto.randomBytes(6).toString("hex")}`;
  try {
    fs.renameSync(lockDir, grave);
    // A holder of this version may have taken the lock between our look and the move: put it back.
    if (fs.readdirSync(grave).some((n) => n.startsWith(OWNER_PREFIX))) fs.renameSync(grave, lockDir);
    else fs.rmSync(grave, { recursive: true, force: true });
  } catch {
    // Gone already, moved by someone else first, or not ours to remove (a leftover the next holder retries).
  }
}

/** Half-built locks of takers that died, and stale locks a breaker could not remove: cleared by the next holder. */
function removeLeftovers(lockDir: string): void {
  const base = path.basename(lockDir);
  let names: string[] = [];
  try {
    names = fs.readdirSync(path.dirname(lockDir));
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(`${base}.new-`) && !name.startsWith(`${base}.stale-`)) continue;
    try {
      fs.rmSync(path.join(path.dirname(lockDir), name), { recursive: true, force: true });
    } catch {
      // Not ours to remove (an older version left it as root): profile rm and doctor say how.
    }
  }
}

function lstatIsFile(file: string): boolean {
  try {
    return fs.lstatSync(file).isFile();
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
