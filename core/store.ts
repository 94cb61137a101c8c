import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { CAPTURE_META_FILE, CLAUDE_JSON_FILE, CREDENTIALS_FILE, GENERATION_NAME, LONG_LIVED_TOKEN_FILE, MAX_AUTH_FILE_BYTES, REJECTED_FILE, generationName } from "./layout";
import { parseClaudeJson, parseCredentials, type ClaudeJson, type CredentialsFile, type Parsed } from "./credentials";
import { fsyncDirectory, lstatOrNull, makePrivateDir, readRegularFile, replaceFileAtomically, UnsafeFileError, writeNewFile, type Owner } from "./safe-fs";
import { assertLockHeld, withLock, type LockOptions } from "./lock";
import { copyEntry, DEFAULT_LIMITS } from "./safe-copy";
import { registerSecret } from "./redact";
import { log } from "./output";
import { UserError, errorMessage } from "./errors";

// A store holds numbered captures: <root>/captures/00000007/. The highest number is the
// current one. A capture is built in a temp dir, validated, fsynced and renamed into
// place, so the store is valid at every instant: a crash leaves the previous capture or
// the new one, plus a temp dir that the next commit removes.
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

export type CaptureMode = "oauth" | "long-lived";
export type CaptureMeta = { schema: 1; capturedAt: string; source: string; mode: CaptureMode };

export type Capture = {
  generation: number;
  dir: string;
  meta: CaptureMeta;
  credentials: CredentialsFile | null;
  claudeJson: ClaudeJson | null;
  longLivedToken: string | null;
  /** Files of this capture that did not read and are ignored (never copied on), with why. */
  ignored: { file: string; problem: string }[];
  /** Newer captures that did not read (newest first): this one is a fallback. */
  skipped: { generation: number; problem: string }[];
};

/** A capture being built under the lock: committed (made current) or discarded. */
export type Draft = { dir: string; commit(): Capture; discard(): void };

/** Space claimed in the store for a rescue file: write() turns it into one, release() gives it back. */
export type RescueReserve = { write(text: string): void; release(): void };

export class InvalidCaptureError extends UserError {
  constructor(
    message: string,
    readonly problem = message,
  ) {
    super(message);
  }
}
export class ConflictError extends Error {}

const STORE_FIXES: Record<string, string> = {
  ENOENT: "create its parent directory or mount the store there",
  EROFS: "mount it read-write: captures and rotated tokens are written to it",
  EACCES: "check its owner and permissions",
  EPERM: "check its owner and permissions",
};

export class Store {
  constructor(
    readonly root: string,
    readonly owner?: Owner,
  ) {}

  get lockDir(): string {
    return path.join(this.root, LOCK);
  }

  private get capturesDir(): string {
    return path.join(this.root, CAPTURES);
  }

  /** Creates the layout (0700, owned by the store owner) if it is not there yet. */
  ensure(): void {
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

  /** The highest generation number present, readable or not: the next commit is one above it. */
  currentGeneration(): number | null {
    return this.generations()[0] ?? null;
  }

  /**
   * The current capture: the newest one whose credentials read (with a one-line warning
   * when newer ones do not); null for an empty store; InvalidCaptureError (a user error
   * with the fix) when no capture reads at all.
   */
  readCurrent(): Capture | null {
    // A concurrent prune may remove a generation between listing and reading it; its
    // files vanish one by one, which reads as ENOENT or as an incomplete capture. A read is
    // trusted only if the generation was still too new to prune when it ended, and a
    // generation counts as broken only if the store did not move while it was read.
    retry: for (let attempt = 0; ; attempt++) {
      const generations = this.generations();
      if (generations.length === 0) return null;
      const head = generations[0]!;
      const skipped: Capture["skipped"] = [];
      for (const generation of generations) {
        try {
          const capture = readCapture(path.join(this.capturesDir, generationName(generation)), generation, { lenient: true });
          if ((this.currentGeneration() ?? generation) - generation < KEEP_GENERATIONS || attempt >= 5) {
            warnOnce(this.root, capture, skipped);
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
  private generations(): number[] {
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

  /**
   * Builds a new capture with `fill`, validates it and makes it current. With
   * `expectedGeneration` it is a compare-and-swap: if another writer committed since that
   * generation was read, nothing changes and ConflictError is thrown.
   */
  async commit(
    fill: (draftDir: string) => void,
    meta: Omit<CaptureMeta, "schema" | "capturedAt">,
    options: { expectedGeneration?: number | null; lock?: LockOptions } = {},
  ): Promise<Capture> {
    this.ensure();
    return withLock(
      this.lockDir,
      () => {
        // Against the capture a reader gets (a fallback, if the newest does not read).
        const current = options.expectedGeneration === undefined ? undefined : (readCurrentIfValid(this)?.generation ?? null);
        if (current !== undefined && options.expectedGeneration !== current) {
          throw new ConflictError(`the store moved from capture ${options.expectedGeneration} to ${current}`);
        }
        return this.commitLocked(fill, meta);
      },
      options.lock,
    );
  }

  /**
   * As commit(), for a caller that already holds the store lock. A draft identical to the
   * current capture is dropped: re-capturing an unchanged login must not push real
   * history out of the kept generations.
   */
  commitLocked(fill: (draftDir: string) => void, meta: Omit<CaptureMeta, "schema" | "capturedAt">): Capture {
    return this.prepareLocked(fill, meta).commit();
  }

  /**
   * Builds a draft capture under the lock, without making it current: a refresh prepares
   * everything (and so finds a full disk) before it spends a refresh token.
   */
  prepareLocked(fill: (draftDir: string) => void, meta: Omit<CaptureMeta, "schema" | "capturedAt">): Draft {
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
    return { dir, commit: () => this.commitDraft(dir), discard };
  }

  private commitDraft(draft: string): Capture {
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
      assertLockHeld(this.lockDir);
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

  /** Whether the token endpoint already rejected this refresh token (it is never sent again). */
  isRejected(refreshToken: string): boolean {
    return (readOptional(path.join(this.root, REJECTED)) ?? "").split("\n").includes(sha256(refreshToken));
  }

  /** Remembers (by digest) a refresh token the endpoint rejected; under the lock. */
  markRejected(refreshToken: string): void {
    const known = (readOptional(path.join(this.root, REJECTED)) ?? "").split("\n").filter(Boolean);
    const kept = [...known.filter((d) => d !== sha256(refreshToken)), sha256(refreshToken)].slice(-KEEP_REJECTED);
    replaceFileAtomically(path.join(this.root, REJECTED), kept.join("\n") + "\n", this.owner);
  }

  get rescueFile(): string {
    return path.join(this.root, RESCUE);
  }

  /** The rescue file's text (a rotated pair whose commit failed), null when there is none. */
  readRescue(): string | null {
    return readOptional(this.rescueFile);
  }

  removeRescue(): void {
    fs.rmSync(this.rescueFile, { force: true });
  }

  /**
   * Claims room for a rescue file (written and fsynced now, under the lock), so a rotated
   * pair whose commit fails on a full disk can still be kept: write() overwrites the
   * claimed blocks in place and renames the file to rescue.json.
   */
  reserveRescue(): RescueReserve {
    // Reserves of holders that died (or lost the lock) go first: only the lock holder gets here.
    for (const name of fs.readdirSync(this.root)) {
      if (name.startsWith(RESCUE_RESERVE)) fs.rmSync(path.join(this.root, name), { force: true });
    }
    const file = path.join(this.root, `${RESCUE_RESERVE}-${process.pid}-${Date.now()}`);
    writeNewFile(file, Buffer.alloc(RESCUE_RESERVE_BYTES, " "), this.owner);
    return {
      write: (text) => {
        const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_NOFOLLOW);
        try {
          fs.writeSync(fd, text, 0);
          fs.ftruncateSync(fd, Buffer.byteLength(text));
          fs.fsyncSync(fd);
        } finally {
          fs.closeSync(fd);
        }
        fs.renameSync(file, this.rescueFile);
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

/**
 * Reads and validates one capture dir. A capture is valid with usable OAuth credentials or
 * a long-lived token. `lenient` (reading a committed capture): a broken .claude.json or
 * claudeauth.json is ignored (listed in `ignored`) instead of making the capture invalid.
 */
export function readCapture(dir: string, generation: number, { lenient = false } = {}): Capture {
  const ignored: Capture["ignored"] = [];
  const tolerate = <T>(file: string, read: () => T, fallback: T): T => {
    try {
      return read();
    } catch (error) {
      if (!lenient || !isCorruption(error)) throw error;
      ignored.push({ file, problem: problemOf(error) });
      return fallback;
    }
  };
  const meta = tolerate(CAPTURE_META_FILE, () => readMeta(dir), UNKNOWN_META);

  const credentials = readParsed(path.join(dir, CREDENTIALS_FILE), parseCredentials);
  registerSecret(credentials?.claudeAiOauth.accessToken);
  registerSecret(credentials?.claudeAiOauth.refreshToken);

  const longLivedToken = readOptional(path.join(dir, LONG_LIVED_TOKEN_FILE))?.trim() || null;
  registerSecret(longLivedToken);
  if (!credentials && !longLivedToken) throw new InvalidCaptureError("the capture holds no credentials (.credentials.json or a long-lived token)");

  const claudeJson = tolerate(CLAUDE_JSON_FILE, () => readParsed(path.join(dir, CLAUDE_JSON_FILE), parseClaudeJson), null);
  return { generation, dir, meta, credentials, claudeJson, longLivedToken, ignored, skipped: [] };
}

const UNKNOWN_META: CaptureMeta = { schema: 1, capturedAt: "", source: "unknown", mode: "oauth" };

function readMeta(dir: string): CaptureMeta {
  const text = readOptional(path.join(dir, CAPTURE_META_FILE));
  if (text === null) return UNKNOWN_META;
  try {
    const value = JSON.parse(text) as Partial<CaptureMeta>;
    if (typeof value === "object" && value && typeof value.source === "string" && (value.mode === "oauth" || value.mode === "long-lived")) {
      return { ...UNKNOWN_META, ...value };
    }
  } catch {
    // reported below
  }
  throw new InvalidCaptureError(`${CAPTURE_META_FILE} is not valid capture metadata (truncated or corrupt)`);
}

/** A capture that cannot be used as it is on disk (as opposed to a store we may not read at all). */
function isCorruption(error: unknown): boolean {
  return error instanceof InvalidCaptureError || error instanceof UnsafeFileError || (error as NodeJS.ErrnoException).code === "EIO";
}

function problemOf(error: unknown): string {
  if (error instanceof InvalidCaptureError) return error.problem;
  return errorMessage(error);
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

/** A file's parsed content, null when absent; a file that does not parse makes the capture invalid. */
function readParsed<T>(file: string, parse: (text: string) => Parsed<T>): T | null {
  const text = readOptional(file);
  if (text === null) return null;
  const parsed = parse(text);
  if (!parsed.ok) throw new InvalidCaptureError(parsed.problem);
  return parsed.value;
}

function readOptional(file: string): string | null {
  if (!lstatOrNull(file)) return null;
  return readRegularFile(file, MAX_AUTH_FILE_BYTES).toString("utf8");
}

/** Copies a capture's entries (all but `except`, its metadata and files it ignored as broken) into a draft dir. */
export function copyCaptureInto(capture: Capture, draftDir: string, owner: Owner | undefined, except: string[] = []): void {
  const skip = new Set([CAPTURE_META_FILE, ...except, ...capture.ignored.map((i) => i.file)]);
  for (const name of fs.readdirSync(capture.dir)) {
    if (skip.has(name)) continue;
    // The auth files' own bound: a long project list makes .claude.json bigger than a config file.
    copyEntry(path.join(capture.dir, name), path.join(draftDir, name), { owner, limits: { ...DEFAULT_LIMITS, maxFileBytes: MAX_AUTH_FILE_BYTES } });
  }
}

export function sha256(text: string): string {
  return crypto.createHash("sha256").update(text).digest("hex");
}

/** The current capture, or null when there is none or none that reads (a login can start afresh). */
export function readCurrentIfValid(store: Store): Capture | null {
  try {
    return store.readCurrent();
  } catch (error) {
    if (error instanceof InvalidCaptureError) return null;
    throw error;
  }
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
