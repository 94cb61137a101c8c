import fs from "node:fs";
import path from "node:path";
import { CAPTURE_META_FILE, GENERATION_NAME, REJECTED_FILE, generationName } from "./layout";
import { fsyncDirectory, lstatOrNull, makePrivateDir, replaceFileAtomically, writeNewFile, type Owner } from "./safe-fs";
import { withLock, type Lock, type LockOptions } from "./lock";
import { log } from "./output";
import { appendEvent, parseEvents, readEventsText, type EventLog, type NewEvent } from "./events";
import { UserError, errorMessage } from "./errors";
import {
  InvalidCaptureError, isCorruption, problemOf, readCapture, readOptional, sha256,
  type Capture, type CaptureMeta, type CommitMeta, type Draft, type Fill, type LockedStore, type RescueReserve, type Store,
} from "./store";

// The directory backend: a host directory, or a Docker volume as the entrypoint sees it.
// Numbered captures: <root>/captures/00000007/. A capture is built in a temp dir, validated,
// fsynced and renamed into place, so the store is valid at every instant: a crash leaves the
// previous capture or the new one, plus a temp dir that the next commit removes.
//
// A capture that can no longer be read (a disk error, a hand edit) does not strand the
// store: readers fall back to the newest capture whose credentials read, with a warning,
// and the next commit builds on that one. Files that cannot run anything or authenticate
// anyone (.claude.json, claudeauth.json) never cause a fallback: a capture whose
// credentials read is used with those files ignored, because the refresh token of an older
// capture may already have been spent to make the newer one.

const CAPTURES = "captures";
const LOCK = ".lock";
const TEMP_PREFIX = ".tmp-";
const KEEP_GENERATIONS = 3;
const RESCUE = "rescue.json";
const REJECTED = REJECTED_FILE;
const KEEP_REJECTED = 16;
const RESCUE_RESERVE = ".rescue.reserve";
/** Room claimed for a rescue before a refresh token is spent: far more than any credentials file. */
const RESCUE_RESERVE_BYTES = 64 * 1024;

const STORE_FIXES: Record<string, string> = {
  ENOENT: "create its parent directory or mount the store there",
  EROFS: "mount it read-write: captures and rotated tokens are written to it",
  EACCES: "check its owner and permissions",
  EPERM: "check its owner and permissions",
};

/** An entry of a store directory as `ls -l` would show it (no contents). */
export type FileEntry = { path: string; type: "file" | "dir" | "symlink" | "other"; mode: number; uid: number; gid: number; size: number };

/** What a store directory holds: its own entries (root, captures/, the current capture two levels down) and what could not be read. */
export type DirListing = { exists: boolean; entries: FileEntry[]; unreadable: { path: string; problem: string }[] };

export class DirStore implements Store {
  /** `quiet`: readers do not warn about a fallback on stderr (a report says it instead). */
  constructor(
    readonly root: string,
    readonly owner?: Owner,
    private readonly options: { quiet?: boolean } = {},
  ) {}

  get location(): string {
    return this.root;
  }

  get lockDir(): string {
    return path.join(this.root, LOCK);
  }

  get rescueLocation(): string {
    return path.join(this.root, RESCUE);
  }

  private get capturesDir(): string {
    return path.join(this.root, CAPTURES);
  }

  /** Creates the layout (0700, owned by the store owner) if it is not there yet. */
  async ensure(): Promise<void> {
    for (const dir of [this.root, this.capturesDir]) {
      try {
        const stat = lstatOrNull(dir);
        if (!stat) makePrivateDir(dir, this.owner);
        else if (!stat.isDirectory()) throw new InvalidCaptureError(`${dir} is not a directory`);
        else if (this.owner && process.getuid?.() === 0) {
          fs.chmodSync(dir, 0o700);
          fs.chownSync(dir, this.owner.uid, this.owner.gid);
        }
      } catch (error) {
        if (error instanceof InvalidCaptureError) throw error;
        // A missing parent or a read-only mount is the user's to fix: say how, in one line.
        const code = (error as NodeJS.ErrnoException).code ?? "";
        const fix = STORE_FIXES[code] ?? "check that it is mounted and writable";
        throw new UserError(`cannot use the store at ${this.root}: ${errorMessage(error)}; ${fix}`);
      }
    }
  }

  exists(): boolean {
    return lstatOrNull(this.capturesDir)?.isDirectory() ?? false;
  }

  async readCurrent(): Promise<Capture | null> {
    return this.readCurrentSync();
  }

  async generations(): Promise<number[]> {
    return this.listGenerations();
  }

  async hasRescue(): Promise<boolean> {
    return lstatOrNull(this.rescueLocation) !== null;
  }

  async withLock<T>(fn: (locked: LockedStore) => Promise<T>, options?: LockOptions): Promise<T> {
    return withLock(this.lockDir, (lock) => fn(this.locked(lock)), options);
  }

  async remove(): Promise<void> {
    fs.rmSync(this.root, { recursive: true, force: true });
  }

  async appendEvent(event: NewEvent): Promise<void> {
    appendEvent(this.root, event, this.owner);
  }

  async readEvents(): Promise<EventLog> {
    return parseEvents(readEventsText(this.root));
  }

  /** The highest generation number present, readable or not. */
  currentGeneration(): number | null {
    return this.listGenerations()[0] ?? null;
  }

  /** readCurrent() for callers that cannot wait: HEALTHCHECK, and a listing of many host profiles. */
  readCurrentSync(): Capture | null {
    // A concurrent prune may remove a generation between listing and reading it; its
    // files vanish one by one, which reads as ENOENT or as an incomplete capture. A read is
    // trusted only if the generation was still too new to prune when it ended, and a
    // generation counts as broken only if the store did not move while it was read.
    retry: for (let attempt = 0; ; attempt++) {
      const generations = this.listGenerations();
      if (generations.length === 0) return null;
      const head = generations[0]!;
      const skipped: Capture["skipped"] = [];
      for (const generation of generations) {
        try {
          const capture = readCapture(path.join(this.capturesDir, generationName(generation)), generation, { lenient: true });
          if ((this.currentGeneration() ?? generation) - generation < KEEP_GENERATIONS || attempt >= 5) {
            if (!this.options.quiet) warnOnce(this.root, capture, skipped);
            return { ...capture, skipped };
          }
          continue retry;
        } catch (error) {
          if (this.currentGeneration() !== head && attempt < 5) continue retry;
          if (!isCorruption(error)) throw this.readFailure(error);
          skipped.push({ generation, problem: problemOf(error) });
        }
      }
      const newest = skipped[0]!;
      throw new InvalidCaptureError(
        `the store at ${this.root} holds no usable capture: capture ${newest.generation} is unusable (${newest.problem}); log in again with "docker claudeauth setup"`,
        newest.problem,
      );
    }
  }

  /** Generation numbers present, newest first. */
  private listGenerations(): number[] {
    if (!this.exists()) return [];
    return fs
      .readdirSync(this.capturesDir)
      .filter((name) => GENERATION_NAME.test(name))
      .map(Number)
      .sort((a, b) => b - a);
  }

  private readFailure(error: unknown): UserError {
    const code = (error as NodeJS.ErrnoException).code ?? "";
    return new UserError(`cannot read the store at ${this.root}: ${errorMessage(error)}; ${STORE_FIXES[code] ?? "check that it is mounted and readable"}`);
  }

  async wasRejected(refreshToken: string): Promise<boolean> {
    return (readOptional(path.join(this.root, REJECTED)) ?? "").split("\n").includes(sha256(refreshToken));
  }

  /** The store's own entries with kinds, modes and owners, for status and doctor; never a file's contents. */
  list(): DirListing {
    const listing: DirListing = { exists: false, entries: [], unreadable: [] };
    const add = (relative: string): FileEntry | null => {
      try {
        const stat = fs.lstatSync(path.join(this.root, relative));
        const type = stat.isFile() ? "file" : stat.isDirectory() ? "dir" : stat.isSymbolicLink() ? "symlink" : "other";
        const entry: FileEntry = { path: relative, type, mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid, size: stat.size };
        listing.entries.push(entry);
        return entry;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") listing.unreadable.push({ path: relative, problem: describeError(error) });
        return null;
      }
    };
    const names = (relative: string): string[] => {
      try {
        return fs.readdirSync(path.join(this.root, relative)).sort();
      } catch (error) {
        listing.unreadable.push({ path: relative, problem: describeError(error) });
        return [];
      }
    };
    const root = add(".");
    listing.exists = root !== null;
    if (root?.type !== "dir") return listing;
    const top = names(".");
    for (const name of top) add(name);
    if (!top.includes(CAPTURES) || lstatOrNull(this.capturesDir)?.isDirectory() !== true) return listing;
    const captures = names(CAPTURES);
    for (const name of captures) add(`${CAPTURES}/${name}`);
    const newest = captures.filter((name) => GENERATION_NAME.test(name)).sort().pop();
    if (newest === undefined) return listing;
    for (const name of names(`${CAPTURES}/${newest}`)) {
      if (add(`${CAPTURES}/${newest}/${name}`)?.type === "dir") for (const child of names(`${CAPTURES}/${newest}/${name}`)) add(`${CAPTURES}/${newest}/${name}/${child}`);
    }
    return listing;
  }

  /** The operations of a lock holder; every one that changes the store first checks the lock is still ours. */
  private locked(lock: Lock): LockedStore {
    const prepare = (fill: Fill, meta: CommitMeta): Draft => this.prepareDraft(fill, meta, lock);
    return {
      readCurrent: async () => this.readCurrentSync(),
      prepare: async (fill, meta) => prepare(fill, meta),
      commit: async (fill, meta) => prepare(fill, meta).commit(),
      forgetBefore: async (generation) => {
        lock.assertHeld();
        for (const older of this.listGenerations().filter((g) => g < generation)) {
          fs.rmSync(path.join(this.capturesDir, generationName(older)), { recursive: true, force: true });
        }
        fs.rmSync(this.rescueLocation, { force: true });
        fsyncDirectory(this.capturesDir);
      },
      assertHeld: () => lock.assertHeld(),
      isRejected: (refreshToken) => this.wasRejected(refreshToken),
      markRejected: async (refreshToken) => {
        const known = (readOptional(path.join(this.root, REJECTED)) ?? "").split("\n").filter(Boolean);
        const kept = [...known.filter((d) => d !== sha256(refreshToken)), sha256(refreshToken)].slice(-KEEP_REJECTED);
        replaceFileAtomically(path.join(this.root, REJECTED), kept.join("\n") + "\n", this.owner);
      },
      readRescue: async () => readOptional(this.rescueLocation),
      removeRescue: async () => fs.rmSync(this.rescueLocation, { force: true }),
      reserveRescue: async () => this.reserveRescue(),
    };
  }

  /** Builds a draft capture under the lock, without making it current. */
  private prepareDraft(fill: Fill, meta: CommitMeta, lock: Lock): Draft {
    this.removeTemps();
    const dir = path.join(this.capturesDir, `${TEMP_PREFIX}${process.pid}-${Date.now()}`);
    const discard = () => fs.rmSync(dir, { recursive: true, force: true });
    makePrivateDir(dir, this.owner);
    try {
      fill(dir);
      const fullMeta: CaptureMeta = { schema: 1, capturedAt: new Date().toISOString(), ...meta };
      writeNewFile(path.join(dir, CAPTURE_META_FILE), JSON.stringify(fullMeta, null, 2) + "\n", this.owner);
    } catch (error) {
      discard();
      throw error;
    }
    return { dir, commit: async () => this.commitDraft(dir, lock), discard };
  }

  /** Makes a draft current; a draft identical to the current capture is dropped (re-capturing must not push history out). */
  private commitDraft(draft: string, lock: Lock): Capture {
    try {
      const current = this.currentGeneration();
      const currentDir = current === null ? null : path.join(this.capturesDir, generationName(current));
      if (currentDir && sameTree(draft, currentDir, [CAPTURE_META_FILE])) {
        fs.rmSync(draft, { recursive: true, force: true });
        return readCapture(currentDir, current!, { lenient: true });
      }
      const generation = (current ?? 0) + 1;
      const checked = readCapture(draft, generation); // throws InvalidCaptureError
      fsyncDirectory(draft);
      // A holder that was frozen past the stale time must not overwrite what the next holder did.
      lock.assertHeld();
      const finalDir = path.join(this.capturesDir, generationName(generation));
      fs.renameSync(draft, finalDir);
      fsyncDirectory(this.capturesDir);
      this.prune();
      return { ...checked, dir: finalDir };
    } catch (error) {
      fs.rmSync(draft, { recursive: true, force: true });
      throw error;
    }
  }

  /**
   * Claims room for a rescue file (written and fsynced now, under the lock), so a rotated
   * pair whose commit fails on a full disk can still be kept: write() overwrites the
   * claimed blocks in place and renames the file to rescue.json.
   */
  private reserveRescue(): RescueReserve {
    // Reserves of holders that died (or lost the lock) go first: only the lock holder gets here.
    for (const name of fs.readdirSync(this.root)) {
      if (name.startsWith(RESCUE_RESERVE)) fs.rmSync(path.join(this.root, name), { force: true });
    }
    const file = path.join(this.root, `${RESCUE_RESERVE}-${process.pid}-${Date.now()}`);
    writeNewFile(file, Buffer.alloc(RESCUE_RESERVE_BYTES, " "), this.owner);
    return {
      write: async (text) => {
        const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_NOFOLLOW);
        try {
          fs.writeSync(fd, text, 0);
          fs.ftruncateSync(fd, Buffer.byteLength(text));
          fs.fsyncSync(fd);
        } finally {
          fs.closeSync(fd);
        }
        fs.renameSync(file, this.rescueLocation);
        fsyncDirectory(this.root);
      },
      release: () => fs.rmSync(file, { force: true }),
    };
  }

  /** Removes temp dirs left by writers that died mid-capture (only ever called under the lock). */
  private removeTemps(): void {
    for (const name of fs.readdirSync(this.capturesDir)) {
      if (name.startsWith(TEMP_PREFIX)) fs.rmSync(path.join(this.capturesDir, name), { recursive: true, force: true });
    }
  }

  private prune(): void {
    const generations = fs.readdirSync(this.capturesDir).filter((name) => GENERATION_NAME.test(name)).sort();
    for (const name of generations.slice(0, -KEEP_GENERATIONS)) {
      fs.rmSync(path.join(this.capturesDir, name), { recursive: true, force: true });
    }
  }
}

function describeError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code === "EACCES" || code === "EPERM" ? "permission denied" : errorMessage(error);
}

/** Says once per process which newer captures a reader skipped, and which files it ignored. */
const warned = new Set<string>();
function warnOnce(root: string, capture: Capture, skipped: Capture["skipped"]): void {
  const notes = [
    ...skipped.map((s) => `capture ${s.generation} is unusable (${s.problem})`),
    ...capture.ignored.map((i) => `${i.file} of capture ${capture.generation} is ignored (${i.problem})`),
  ];
  const key = `${root}\0${notes.join("\0")}`;
  if (notes.length === 0 || warned.has(key)) return;
  warned.add(key);
  const advice = skipped.length
    ? `; using the earlier capture ${capture.generation}; if runs fail to authenticate, log in again with "docker claudeauth setup"`
    : `; the next refresh or setup writes a good one`;
  log.warn(`the store at ${root}: ${notes.join("; ")}${advice}`);
}

/** Whether two capture trees hold the same names, kinds and bytes (ignoring some top-level names). */
function sameTree(a: string, b: string, ignore: string[] = []): boolean {
  const names = (dir: string) => fs.readdirSync(dir).filter((n) => !ignore.includes(n)).sort();
  const [left, right] = [names(a), names(b)];
  if (left.join("/") !== right.join("/")) return false;
  return left.every((name) => {
    const [x, y] = [fs.lstatSync(path.join(a, name)), fs.lstatSync(path.join(b, name))];
    if (x.isDirectory() && y.isDirectory()) return sameTree(path.join(a, name), path.join(b, name));
    return x.isFile() && y.isFile() && x.size === y.size && fs.readFileSync(path.join(a, name)).equals(fs.readFileSync(path.join(b, name)));
  });
}
