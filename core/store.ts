import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { CAPTURE_META_FILE, CLAUDE_JSON_FILE, CREDENTIALS_FILE, LONG_LIVED_TOKEN_FILE, MAX_AUTH_FILE_BYTES } from "./layout";
import { parseClaudeJson, parseCredentials, type ClaudeJson, type CredentialsFile, type Parsed } from "./credentials";
import { lstatOrNull, readRegularFile, UnsafeFileError, type Owner } from "./safe-fs";
import { copyEntry, DEFAULT_LIMITS } from "./safe-copy";
import type { LockOptions } from "./lock";
import type { EventLog, NewEvent } from "./events";
import { registerSecret } from "./redact";
import { UserError, errorMessage } from "./errors";

// The one store interface. A store holds numbered captures of a login (credentials,
// .claude.json, the user config allow-list), the highest one current; every backend (a host
// directory or Docker volume: store-dir.ts; a credential helper; a Kubernetes Secret) keeps
// the same rules:
//   - a commit is a compare-and-swap on the generation: a writer that read generation N
//     commits N+1 only if the store is still at N (commit() below);
//   - one lock per store, visible to every process that shares it: a refresh token is spent
//     only under it (single-flight), and re-read under it first;
//   - a rotated pair whose commit fails is kept (the rescue) and adopted by the next lock
//     holder before any token is sent; a refresh token the endpoint rejected is remembered
//     (by digest) and never sent again; so the store never goes back to a spent token.
// A capture is read and built as files in a local directory the caller may read: for the
// directory backend, the capture in the store itself; for a remote backend, a private copy
// (on a tmpfs in the entrypoint). Drafts are built the same way and committed by the backend.

export type CaptureMode = "oauth" | "long-lived" | "logged-out";
export type CaptureMeta = { schema: 1; capturedAt: string; source: string; mode: CaptureMode };
export type CommitMeta = Omit<CaptureMeta, "schema" | "capturedAt">;

export type Capture = {
  generation: number;
  /** A local directory holding the capture's files (read only: a commit builds a new one). */
  dir: string;
  meta: CaptureMeta;
  /** null in a long-lived or logged-out capture. */
  credentials: CredentialsFile | null;
  claudeJson: ClaudeJson | null;
  longLivedToken: string | null;
  /** Files of this capture that did not read and are ignored (never copied on), with why. */
  ignored: { file: string; problem: string }[];
  /** Newer captures that did not read (newest first): this one is a fallback. */
  skipped: { generation: number; problem: string }[];
};

/** Writes a new capture's files into an empty private draft directory (files owned by store.owner). */
export type Fill = (draftDir: string) => void;

/** A capture being built under the lock: committed (made current) or discarded. */
export type Draft = { dir: string; commit(): Promise<Capture>; discard(): void };

/** Space claimed for a rescue before a refresh token is spent: write() turns it into one, release() gives it back. */
export type RescueReserve = { write(text: string): Promise<void>; release(): void };

/** What the holder of a store's lock may do; valid until the function given to withLock returns. */
export interface LockedStore {
  readCurrent(): Promise<Capture | null>;
  /** Builds a draft (validated on commit); a refresh prepares it before it spends a token, so a full store shows first. */
  prepare(fill: Fill, meta: CommitMeta): Promise<Draft>;
  /** prepare + commit. A draft identical to the current capture is dropped (the current one is returned). */
  commit(fill: Fill, meta: CommitMeta): Promise<Capture>;
  /** Removes every capture older than `generation` and any rescue: a logout leaves no token behind. */
  forgetBefore(generation: number): Promise<void>;
  /** Throws LockLostError unless the lock is still ours (checked before a token is spent). */
  assertHeld(): void;
  /** Whether the token endpoint already rejected this refresh token (it is never sent again). */
  isRejected(refreshToken: string): Promise<boolean>;
  markRejected(refreshToken: string): Promise<void>;
  readRescue(): Promise<string | null>;
  removeRescue(): Promise<void>;
  /** Claims room for a rescue (before a token is spent), so a pair whose commit fails can still be kept. */
  reserveRescue(): Promise<RescueReserve>;
}

export interface Store {
  /** Where the store is, for messages: a path, "k8s://NS/NAME", "helper:NAME (profile P)". */
  readonly location: string;
  /** Where a rescued pair waits, for messages. */
  readonly rescueLocation: string;
  /** Who a draft's files must belong to (the directory backend's host user); undefined: whoever writes them. */
  readonly owner?: Owner | undefined;
  /** Creates the store if it is not there yet (a UserError with the fix if it cannot be). */
  ensure(): Promise<void>;
  /**
   * The current capture: the newest one that reads (a fallback says so in `skipped`); null
   * for an empty store; InvalidCaptureError (a user error with the fix) when none reads.
   */
  readCurrent(): Promise<Capture | null>;
  /** Generation numbers present, newest first, readable or not: the next commit is one above the first. */
  generations(): Promise<number[]>;
  /** Whether a rescued pair waits (read without the lock: the holder adopts it). */
  hasRescue(): Promise<boolean>;
  /** Whether the endpoint rejected this refresh token (read without the lock, for reports: a refresh asks again under it). */
  wasRejected(refreshToken: string): Promise<boolean>;
  /** Runs fn holding the store's lock (with a heartbeat, so a slow holder never looks stale). */
  withLock<T>(fn: (locked: LockedStore) => Promise<T>, options?: LockOptions): Promise<T>;
  /** Deletes the store and everything in it (profile rm). */
  remove(): Promise<void>;
  /** Adds one event to the store's audit trail (core/events.ts: bounded, redacted); callers use recordEvent, which never throws. */
  appendEvent(event: NewEvent): Promise<void>;
  /** The audit trail, oldest first (empty for a backend that keeps none). */
  readEvents(): Promise<EventLog>;
}

export class InvalidCaptureError extends UserError {
  constructor(
    message: string,
    readonly problem = message,
  ) {
    super(message);
  }
}
export class ConflictError extends Error {}

/**
 * Builds a new capture with `fill`, validates it and makes it current, under the lock. With
 * `expectedGeneration` it is a compare-and-swap: if another writer committed since that
 * generation was read (null: the store was empty), nothing changes and ConflictError is thrown.
 */
export async function commit(
  store: Store,
  fill: Fill,
  meta: CommitMeta,
  options: { expectedGeneration?: number | null; lock?: LockOptions } = {},
): Promise<Capture> {
  await store.ensure();
  return store.withLock(async (locked) => {
    if (options.expectedGeneration !== undefined) {
      // Against the capture a reader gets (a fallback, if the newest does not read).
      const current = (await readValid(() => locked.readCurrent()))?.generation ?? null;
      if (options.expectedGeneration !== current) throw new ConflictError(`the store moved from capture ${options.expectedGeneration} to ${current}`);
    }
    return locked.commit(fill, meta);
  }, options.lock);
}

/** The current capture, or null when there is none or none that reads (a login can start afresh). */
export function readCurrentIfValid(store: Pick<Store, "readCurrent">): Promise<Capture | null> {
  return readValid(() => store.readCurrent());
}

async function readValid(read: () => Promise<Capture | null>): Promise<Capture | null> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof InvalidCaptureError) return null;
    throw error;
  }
}

/**
 * Reads and validates one capture dir. A capture is valid with usable OAuth credentials or
 * a long-lived token (or, logged out, without either). `lenient` (reading a committed capture): a broken .claude.json or
 * claudeauth.json is ignored (listed in `ignored`) instead of making the capture invalid.
 */
export function readCapture(dir: string, generation: number, options: { lenient?: boolean } = {}): Capture {
  return { ...readCaptureFiles((name) => readOptional(path.join(dir, name)), generation, options), dir };
}

/** As readCapture, for a capture held elsewhere (a credential helper's entry, in memory): `read` gives a file's text, null when absent. */
export function readCaptureFiles(read: (name: string) => string | null, generation: number, { lenient = false } = {}): Omit<Capture, "dir"> {
  const ignored: Capture["ignored"] = [];
  const tolerate = <T>(file: string, attempt: () => T, fallback: T): T => {
    try {
      return attempt();
    } catch (error) {
      if (!lenient || !isCorruption(error)) throw error;
      ignored.push({ file, problem: problemOf(error) });
      return fallback;
    }
  };
  const meta = tolerate(CAPTURE_META_FILE, () => readMeta(read(CAPTURE_META_FILE)), UNKNOWN_META);

  const credentials = readParsed(read(CREDENTIALS_FILE), parseCredentials);
  registerSecret(credentials?.claudeAiOauth.accessToken);
  registerSecret(credentials?.claudeAiOauth.refreshToken);

  const longLivedToken = read(LONG_LIVED_TOKEN_FILE)?.trim() || null;
  registerSecret(longLivedToken);
  if (!credentials && !longLivedToken && meta.mode !== "logged-out") throw new InvalidCaptureError("the capture holds no credentials (.credentials.json or a long-lived token)");

  const claudeJson = tolerate(CLAUDE_JSON_FILE, () => readParsed(read(CLAUDE_JSON_FILE), parseClaudeJson), null);
  return { generation, meta, credentials, claudeJson, longLivedToken, ignored, skipped: [] };
}

const UNKNOWN_META: CaptureMeta = { schema: 1, capturedAt: "", source: "unknown", mode: "oauth" };

function readMeta(text: string | null): CaptureMeta {
  if (text === null) return UNKNOWN_META;
  try {
    const value = JSON.parse(text) as Partial<CaptureMeta>;
    if (typeof value === "object" && value && typeof value.source === "string" && (value.mode === "oauth" || value.mode === "long-lived" || value.mode === "logged-out")) {
      return { ...UNKNOWN_META, ...value };
    }
  } catch {
    // reported below
  }
  throw new InvalidCaptureError(`${CAPTURE_META_FILE} is not valid capture metadata (truncated or corrupt)`);
}

/** A capture that cannot be used as it is on disk (as opposed to a store we may not read at all). */
export function isCorruption(error: unknown): boolean {
  return error instanceof InvalidCaptureError || error instanceof UnsafeFileError || (error as NodeJS.ErrnoException).code === "EIO";
}

export function problemOf(error: unknown): string {
  if (error instanceof InvalidCaptureError) return error.problem;
  return errorMessage(error);
}

/** A file's parsed content, null when absent; a file that does not parse makes the capture invalid. */
function readParsed<T>(text: string | null, parse: (text: string) => Parsed<T>): T | null {
  if (text === null) return null;
  const parsed = parse(text);
  if (!parsed.ok) throw new InvalidCaptureError(parsed.problem);
  return parsed.value;
}

export function readOptional(file: string): string | null {
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
