import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { acquireLock, LockLostError, LockTimeoutError, withLock } from "../../core/lock";
import { UserError } from "../../core/errors";
import { tempRoot } from "../support/fixtures";
import { STORE_OWNER } from "../support/test-user";
import { bundleWorker } from "../support/worker";

// The store lock: a directory holding its holder's owner.<token> file, visible across
// processes and containers. A holder that died is taken over at once when provably gone,
// otherwise once a waiter has watched its heartbeat stand still for staleMs on its own clock.
function lockPath(): string {
  return path.join(tempRoot(), ".lock");
}

function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [bundleWorker("lock-worker"), ...args], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stderr })));
}

function startHolder(lockDir: string) {
  const child = spawn(process.execPath, [bundleWorker("lock-worker"), "hold", lockDir], { stdio: ["ignore", "pipe", "inherit"] });
  const held = new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (chunk) => String(chunk).includes("held") && resolve());
    child.on("exit", () => reject(new Error("holder exited")));
  });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  return { child, held, exited };
}

const ourNamespace = () => /\d+/.exec(fs.readlinkSync("/proc/self/ns/pid"))![0];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A lock as another holder leaves it: .lock/owner.<token>.<pid namespace>.<pid>. */
function plantLock(lockDir: string, namespace: string, pid: number): string {
  fs.mkdirSync(lockDir);
  const file = path.join(lockDir, `owner.0badc0de.${namespace}.${pid}`);
  fs.writeFileSync(file, "");
  return file;
}
const ownerFiles = (lockDir: string) => fs.readdirSync(lockDir).filter((n) => n.startsWith("owner."));

describe("mutual exclusion", () => {
  it("four processes taking the lock 40 times each never overlap", async () => {
    const lockDir = lockPath();
    const log = path.join(path.dirname(lockDir), "log");
    fs.writeFileSync(log, "");
    const results = await Promise.all(Array.from({ length: 4 }, () => run(["contend", lockDir, log, "40"])));
    for (const result of results) expect(result, result.stderr).toMatchObject({ code: 0 });
    const lines = fs.readFileSync(log, "utf8").trim().split("\n");
    expect(lines).toHaveLength(4 * 40 * 2);
    for (let i = 0; i < lines.length; i += 2) {
      const [enter, leave] = [lines[i]!.split(" "), lines[i + 1]!.split(" ")];
      expect(enter[0]).toBe("enter");
      expect(leave).toEqual(["leave", enter[1]]);
    }
    expect(new Set(lines.map((l) => l.split(" ")[1])).size).toBe(4);
    expect(fs.existsSync(lockDir)).toBe(false);
  });

  it("a second taker waits for the holder and times out with a one-line error naming the lock", async () => {
    const lockDir = lockPath();
    const holder = startHolder(lockDir);
    try {
      await holder.held;
      const started = Date.now();
      const error = await acquireLock(lockDir, { timeoutMs: 300 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LockTimeoutError);
      expect((error as Error).message).toBe(`${lockDir} is held by another process for more than 0s`);
      expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    } finally {
      holder.child.kill("SIGKILL");
      await holder.exited;
    }
  });

  it("withLock releases the lock when its function throws", async () => {
    const lockDir = lockPath();
    await expect(withLock(lockDir, () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(fs.existsSync(lockDir)).toBe(false);
    expect(await withLock(lockDir, () => 42)).toBe(42);
  });

  it("release is idempotent and does not remove a lock someone else took since", async () => {
    const lockDir = lockPath();
    const lock = await acquireLock(lockDir);
    lock.release();
    const next = await acquireLock(lockDir);
    lock.release();
    expect(fs.existsSync(lockDir)).toBe(true);
    next.release();
  });
});

describe("stale locks", () => {
  it("takes over at once from a holder that was killed (same PID namespace, no such process)", async () => {
    const lockDir = lockPath();
    const holder = startHolder(lockDir);
    await holder.held;
    holder.child.kill("SIGKILL");
    await holder.exited;
    expect(fs.existsSync(lockDir)).toBe(true);
    const started = Date.now();
    const lock = await acquireLock(lockDir, { timeoutMs: 5_000, staleMs: 30_000 });
    expect(Date.now() - started).toBeLessThan(3_000); // not the 30 s staleMs
    expect(ownerFiles(lockDir)).toEqual([expect.stringMatching(new RegExp(`^owner\\.[0-9a-f]{24}\\.${ourNamespace()}\\.${process.pid}$`))]);
    lock.release();
    expect(fs.readdirSync(path.dirname(lockDir)).filter((n) => n.startsWith(".lock"))).toEqual([]);
  });

  it("waits for a live holder in its own namespace, never stealing it", async () => {
    const lockDir = lockPath();
    const file = plantLock(lockDir, ourNamespace(), process.pid);
    await expect(acquireLock(lockDir, { timeoutMs: 200, staleMs: 60_000 })).rejects.toBeInstanceOf(LockTimeoutError);
    expect(fs.existsSync(file)).toBe(true);
  });

  it("a holder in another PID namespace (another container) is taken over only after staleMs of watching it stand still", async () => {
    const lockDir = lockPath();
    plantLock(lockDir, "4026599999", 7);
    await expect(acquireLock(lockDir, { timeoutMs: 200, staleMs: 600 })).rejects.toBeInstanceOf(LockTimeoutError);
    const started = performance.now();
    const lock = await acquireLock(lockDir, { timeoutMs: 5_000, staleMs: 600 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(600);
    lock.release();
  });

  it("judges staleness on the waiter's own clock: an owner file dated 1970 or next year (clock skew) changes nothing", async () => {
    for (const when of [new Date(0), new Date(Date.now() + 365 * 86_400_000)]) {
      const lockDir = lockPath();
      const file = plantLock(lockDir, "4026599999", 7);
      fs.utimesSync(file, when, when);
      fs.utimesSync(lockDir, when, when);
      await expect(acquireLock(lockDir, { timeoutMs: 300, staleMs: 1_000 }), String(when)).rejects.toBeInstanceOf(LockTimeoutError);
      const started = performance.now();
      (await acquireLock(lockDir, { timeoutMs: 5_000, staleMs: 1_000 })).release();
      expect(performance.now() - started, String(when)).toBeGreaterThanOrEqual(1_000);
    }
  });

  it("a heartbeat keeps a long-held lock from going stale", async () => {
    const lockDir = lockPath();
    const lock = await acquireLock(lockDir);
    const beat = setInterval(() => lock.heartbeat(), 100);
    try {
      await expect(acquireLock(lockDir, { timeoutMs: 1_500, staleMs: 400 })).rejects.toBeInstanceOf(LockTimeoutError);
    } finally {
      clearInterval(beat);
    }
    lock.release();
  });

  it("a holder frozen past staleMs finds its lock gone: its heartbeat and release never touch the next holder's lock", async () => {
    const lockDir = lockPath();
    const frozen = await acquireLock(lockDir);
    const next = await acquireLock(lockDir, { timeoutMs: 5_000, staleMs: 300 }); // no heartbeat from `frozen` meanwhile
    const [nextOwner] = ownerFiles(lockDir);
    const before = fs.statSync(path.join(lockDir, nextOwner!), { bigint: true });
    expect(frozen.heartbeat()).toBe(false);
    expect(() => frozen.assertHeld()).toThrow(LockLostError);
    frozen.release();
    const after = fs.statSync(path.join(lockDir, nextOwner!), { bigint: true });
    expect(after.mtimeNs).toBe(before.mtimeNs);
    expect(ownerFiles(lockDir)).toEqual([nextOwner]);
    expect(() => next.assertHeld()).not.toThrow();
    next.release();
    expect(fs.existsSync(lockDir)).toBe(false);
  });

  it("a lost lock never throws from the heartbeat timer: the critical section finds out at assertHeld, as a one-line user error", async () => {
    const lockDir = lockPath();
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on("uncaughtException", onUncaught);
    try {
      const error = await withLock(
        lockDir,
        async (lock) => {
          fs.rmSync(lockDir, { recursive: true }); // taken from under us
          await sleep(300); // several heartbeats
          return Promise.resolve().then(() => lock.assertHeld()).catch((e: unknown) => e);
        },
        { staleMs: 200 },
      );
      expect(error).toBeInstanceOf(LockLostError);
      expect(error).toBeInstanceOf(UserError);
      expect((error as Error).message).not.toContain("\n");
      expect((error as Error).message).toMatch(/lost the store lock .*nothing was committed/);
    } finally {
      process.off("uncaughtException", onUncaught);
    }
    expect(uncaught).toEqual([]);
  });

  it("an empty lock dir (a release cut short) is taken at once", async () => {
    const lockDir = lockPath();
    fs.mkdirSync(lockDir);
    const started = performance.now();
    (await acquireLock(lockDir, { timeoutMs: 5_000, staleMs: 30_000 })).release();
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it("a lock in the older format (an owner file, no token) is moved aside after staleMs of no change", async () => {
    const lockDir = lockPath();
    fs.mkdirSync(lockDir);
    fs.writeFileSync(path.join(lockDir, "owner"), "pid:[4026599999] 7 2024-01-01T00:00:00Z\n");
    await expect(acquireLock(lockDir, { timeoutMs: 200, staleMs: 500 })).rejects.toBeInstanceOf(LockTimeoutError);
    (await acquireLock(lockDir, { timeoutMs: 5_000, staleMs: 500 })).release();
    expect(fs.readdirSync(path.dirname(lockDir)).filter((n) => n.startsWith(".lock"))).toEqual([]);
  });

  it.runIf(process.getuid?.() === 0)("lock files belong to the owner of the directory they are in (the store owner), so a host user can read them", async () => {
    const parent = path.dirname(lockPath());
    const store = path.join(parent, "store");
    fs.mkdirSync(store, { mode: 0o700 });
    fs.chownSync(store, STORE_OWNER.uid, STORE_OWNER.gid);
    const lockDir = path.join(store, ".lock");
    const lock = await acquireLock(lockDir);
    for (const file of [lockDir, path.join(lockDir, ownerFiles(lockDir)[0]!)]) {
      const stat = fs.statSync(file);
      expect([stat.uid, stat.gid, stat.mode & 0o777], file).toEqual([STORE_OWNER.uid, STORE_OWNER.gid, file === lockDir ? 0o700 : 0o600]);
    }
    lock.release();
  });

  it.runIf(process.getuid?.() === 0)("a non-root waiter that cannot read the holder's lock (an older version's root-owned dir) waits the full stale time", async () => {
    const parent = path.dirname(lockPath());
    const store = path.join(parent, "store");
    fs.mkdirSync(store, { mode: 0o700 });
    fs.chownSync(store, STORE_OWNER.uid, STORE_OWNER.gid);
    const lockDir = path.join(store, ".lock");
    fs.mkdirSync(lockDir, { mode: 0o700 }); // root's, unreadable to the store owner
    fs.writeFileSync(path.join(lockDir, "owner"), "pid:[4026531836] 1 2026-01-01T00:00:00Z\n");
    fs.chmodSync(parent, 0o755);
    const started = performance.now();
    const child = spawn(process.execPath, [bundleWorker("lock-worker"), "hold", lockDir, "3000"], {
      stdio: ["ignore", "pipe", "inherit"],
      uid: STORE_OWNER.uid,
      gid: STORE_OWNER.gid,
    });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on("data", (chunk) => String(chunk).includes("held") && resolve());
        child.on("exit", (code) => reject(new Error(`the waiter exited (${code})`)));
      });
      expect(performance.now() - started).toBeGreaterThanOrEqual(3_000);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("many waiters breaking one stale lock: exactly one holds it at a time", async () => {
    const lockDir = lockPath();
    plantLock(lockDir, ourNamespace(), 999999999);
    const log = path.join(path.dirname(lockDir), "log");
    fs.writeFileSync(log, "");
    const results = await Promise.all(Array.from({ length: 4 }, () => run(["contend", lockDir, log, "5"])));
    for (const result of results) expect(result, result.stderr).toMatchObject({ code: 0 });
    const lines = fs.readFileSync(log, "utf8").trim().split("\n");
    for (let i = 0; i < lines.length; i += 2) expect(lines[i + 1]).toBe(lines[i]!.replace("enter", "leave"));
    expect(lines).toHaveLength(40);
  });
});
