import fs from "node:fs";
import path from "node:path";
import { CAPTURE_META_FILE, CLAUDE_JSON_FILE, CREDENTIALS_FILE, GENERATION_NAME, LONG_LIVED_TOKEN_FILE, MAX_AUTH_FILE_BYTES, generationName } from "./layout";
import { parseClaudeJson, parseCredentials, type ClaudeJson, type CredentialsFile, type Parsed } from "./credentials";
import { fsyncDirectory, lstatOrNull, makePrivateDir, readRegularFile, writeNewFile, type Owner } from "./safe-fs";
import { withLock, type LockOptions } from "./lock";
import { copyEntry } from "./safe-copy";
import { registerSecret } from "./redact";
import { UserError, errorMessage } from "./errors";

// A store holds numbered captures: <root>/captures/00000007/. The highest number is the
// current one. A capture is built in a temp dir, validated, fsynced and renamed into
// place, so the store is valid at every instant: a crash leaves the previous capture or
// the new one, plus a temp dir that the next commit removes.

const CAPTURES = "captures";
const LOCK = ".lock";
const TEMP_PREFIX = ".tmp-";
const KEEP_GENERATIONS = 3;

export type CaptureMode = "oauth" | "long-lived";
export type CaptureMeta = { schema: 1; capturedAt: string; source: string; mode: CaptureMode };

export type Capture = {
  generation: number;
  dir: string;
  meta: CaptureMeta;
  credentials: CredentialsFile | null;
  claudeJson: ClaudeJson | null;
  longLivedToken: string | null;
};

export class InvalidCaptureError extends Error {}
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

  currentGeneration(): number | null {
    if (!this.exists()) return null;
    const generations = fs
      .readdirSync(this.capturesDir)
      .filter((name) => GENERATION_NAME.test(name))
      .map(Number)
      .sort((a, b) => b - a);
    return generations[0] ?? null;
  }

  /** The current capture, read and checked; null for an empty store. */
  readCurrent(): Capture | null {
    // A concurrent prune may remove the generation between listing and reading it; its
    // files vanish one by one, which reads as ENOENT or as an incomplete capture. A read is
    // trusted only if the generation was still too new to prune when it ended.
    for (let attempt = 0; ; attempt++) {
      const generation = this.currentGeneration();
      if (generation === null) return null;
      try {
        const capture = readCapture(path.join(this.capturesDir, generationName(generation)), generation);
        if ((this.currentGeneration() ?? generation) - generation < KEEP_GENERATIONS || attempt >= 5) return capture;
      } catch (error) {
        if (this.currentGeneration() === generation || attempt >= 5) throw error;
      }
    }
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
        const current = this.currentGeneration();
        if (options.expectedGeneration !== undefined && options.expectedGeneration !== current) {
          throw new ConflictError(`the store moved from capture ${options.expectedGeneration} to ${current}`);
        }
        return this.commitLocked(fill, meta, current);
      },
      options.lock,
    );
  }

  /**
   * As commit(), for a caller that already holds the store lock. A draft identical to the
   * current capture is dropped: re-capturing an unchanged login must not push real
   * history out of the kept generations.
   */
  commitLocked(fill: (draftDir: string) => void, meta: Omit<CaptureMeta, "schema" | "capturedAt">, current = this.currentGeneration()): Capture {
    this.removeTemps();
    const draft = path.join(this.capturesDir, `${TEMP_PREFIX}${process.pid}-${Date.now()}`);
    makePrivateDir(draft, this.owner);
    try {
      fill(draft);
      const currentDir = current === null ? null : path.join(this.capturesDir, generationName(current));
      if (currentDir && sameTree(draft, currentDir, [CAPTURE_META_FILE])) {
        fs.rmSync(draft, { recursive: true, force: true });
        return readCapture(currentDir, current!);
      }
      const fullMeta: CaptureMeta = { schema: 1, capturedAt: new Date().toISOString(), ...meta };
      writeNewFile(path.join(draft, CAPTURE_META_FILE), JSON.stringify(fullMeta, null, 2) + "\n", this.owner);
      const generation = (current ?? 0) + 1;
      const checked = readCapture(draft, generation); // throws InvalidCaptureError
      fsyncDirectory(draft);
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

/** Reads and validates one capture dir. A capture is valid with usable OAuth credentials or a long-lived token. */
export function readCapture(dir: string, generation: number): Capture {
  const metaText = readOptional(path.join(dir, CAPTURE_META_FILE));
  const meta: CaptureMeta = metaText ? JSON.parse(metaText) : { schema: 1, capturedAt: "", source: "unknown", mode: "oauth" };

  const credentials = readParsed(path.join(dir, CREDENTIALS_FILE), parseCredentials);
  registerSecret(credentials?.claudeAiOauth.accessToken);
  registerSecret(credentials?.claudeAiOauth.refreshToken);

  const longLivedToken = readOptional(path.join(dir, LONG_LIVED_TOKEN_FILE))?.trim() || null;
  registerSecret(longLivedToken);
  if (!credentials && !longLivedToken) throw new InvalidCaptureError("the capture holds no credentials (.credentials.json or a long-lived token)");

  const claudeJson = readParsed(path.join(dir, CLAUDE_JSON_FILE), parseClaudeJson);
  return { generation, dir, meta, credentials, claudeJson, longLivedToken };
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

/** Copies a capture's entries (all but `except` and its metadata) into a draft dir. */
export function copyCaptureInto(capture: Capture, draftDir: string, owner: Owner | undefined, except: string[] = []): void {
  for (const name of fs.readdirSync(capture.dir)) {
    if (name === CAPTURE_META_FILE || except.includes(name)) continue;
    copyEntry(path.join(capture.dir, name), path.join(draftDir, name), { owner });
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
