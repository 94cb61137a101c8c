import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { acquireLock, LockTimeoutError, withLock } from "../../core/lock";
import { tempRoot } from "../support/fixtures";
import { bundleWorker } from "../support/worker";

// The store lock: a mkdir lock that works across processes and containers. A holder that
// died is taken over at once when provably gone, otherwise after staleMs.
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

const ourNamespace = () => fs.readlinkSync("/proc/self/ns/pid");
const age = (dir: string, ms: number) => {
  const then = new Date(Date.now() - ms);
  fs.utimesSync(dir, then, then);
};

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
    expect(fs.readFileSync(path.join(lockDir, "owner"), "utf8")).toContain(` ${process.pid} `);
    lock.release();
    expect(fs.readdirSync(path.dirname(lockDir)).filter((n) => n.includes(".stale-"))).toEqual([]);
  });

  it("waits for a live holder even past a stale age in its own namespace, never stealing it", async () => {
    const lockDir = lockPath();
    fs.mkdirSync(lockDir);
    fs.writeFileSync(path.join(lockDir, "owner"), `${ourNamespace()} ${process.pid} now\n`);
    await expect(acquireLock(lockDir, { timeoutMs: 200, staleMs: 60_000 })).rejects.toBeInstanceOf(LockTimeoutError);
    expect(fs.readFileSync(path.join(lockDir, "owner"), "utf8")).toContain(` ${process.pid} `);
  });

  it("treats a holder in another PID namespace (another container) as alive until staleMs without a heartbeat", async () => {
    const lockDir = lockPath();
    fs.mkdirSync(lockDir);
    fs.writeFileSync(path.join(lockDir, "owner"), "pid:[4026599999] 7 2024-01-01T00:00:00Z\n");
    await expect(acquireLock(lockDir, { timeoutMs: 200, staleMs: 5_000 })).rejects.toBeInstanceOf(LockTimeoutError);
    age(lockDir, 6_000);
    const lock = await acquireLock(lockDir, { timeoutMs: 5_000, staleMs: 5_000 });
    lock.release();
  });

  it("a heartbeat keeps a long-held lock from going stale", async () => {
    const lockDir = lockPath();
    const lock = await acquireLock(lockDir);
    fs.writeFileSync(path.join(lockDir, "owner"), "pid:[4026599999] 7 elsewhere\n"); // looks foreign: only its age counts
    age(lockDir, 10_000);
    lock.heartbeat();
    await expect(acquireLock(lockDir, { timeoutMs: 150, staleMs: 5_000 })).rejects.toBeInstanceOf(LockTimeoutError);
    lock.release();
  });

  it("a lock dir without an owner file (holder died right after mkdir) is taken after a short grace, not at once", async () => {
    const lockDir = lockPath();
    fs.mkdirSync(lockDir);
    await expect(acquireLock(lockDir, { timeoutMs: 200 })).rejects.toBeInstanceOf(LockTimeoutError);
    age(lockDir, 3_000);
    const started = Date.now();
    (await acquireLock(lockDir, { timeoutMs: 5_000 })).release();
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it("an empty or garbled owner file (holder died while writing it) counts as no owner: taken after the grace, not after staleMs", async () => {
    for (const content of ["", "garbage", `${ourNamespace()}`]) {
      const lockDir = lockPath();
      fs.mkdirSync(lockDir);
      fs.writeFileSync(path.join(lockDir, "owner"), content);
      age(lockDir, 3_000);
      const started = Date.now();
      (await acquireLock(lockDir, { timeoutMs: 5_000, staleMs: 30_000 })).release();
      expect(Date.now() - started, JSON.stringify(content)).toBeLessThan(3_000);
    }
  });

  it("many waiters breaking one stale lock: exactly one holds it at a time", async () => {
    const lockDir = lockPath();
    fs.mkdirSync(lockDir);
    fs.writeFileSync(path.join(lockDir, "owner"), `${ourNamespace()} 999999999 dead\n`);
    const log = path.join(path.dirname(lockDir), "log");
    fs.writeFileSync(log, "");
    const results = await Promise.all(Array.from({ length: 4 }, () => run(["contend", lockDir, log, "5"])));
    for (const result of results) expect(result, result.stderr).toMatchObject({ code: 0 });
    const lines = fs.readFileSync(log, "utf8").trim().split("\n");
    for (let i = 0; i < lines.length; i += 2) expect(lines[i + 1]).toBe(lines[i]!.replace("enter", "leave"));
    expect(lines).toHaveLength(40);
  });
});
