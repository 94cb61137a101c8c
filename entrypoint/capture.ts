import crypto from "node:crypto";
import path from "node:path";
import { CLAUDE_JSON_FILE, CREDENTIALS_FILE, MAX_AUTH_FILE_BYTES, USER_CONFIG_ENTRIES, cliPaths } from "../core/layout";
import { parseClaudeJson, parseCredentials, type OauthTokens } from "../core/credentials";
import { lstatOrNull, readRegularFile, UnsafeFileError, writeNewFile } from "../core/safe-fs";
import { copyEntry } from "../core/safe-copy";
import { commit, ConflictError, copyCaptureInto, readCurrentIfValid, type Capture, type Store } from "../core/store";
import { log } from "../core/output";
import { registerSecret } from "../core/redact";

// Copies the CLI's auth state out of a home directory into the store: credentials,
// .claude.json and the user config allow-list. Checked before anything is committed, so
// an empty or broken login never replaces a good capture.

export type CaptureOutcome =
  | { status: "captured"; generation: number }
  | { status: "unchanged" }
  | { status: "no-credentials" }
  | { status: "invalid"; problem: string }
  | { status: "superseded"; generation: number | null };

/** What setup handed the login: the capture it seeded the home from (null: none) and its tokens. */
export type Seed = { generation: number | null; oauth: OauthTokens | null };

/**
 * A new login, made in this session: not the access token of the login the store knows, not
 * its refresh token (the CLI was never given the seed's), and a refresh token unless the known
 * login had none either, so a copy without its refresh token never replaces a refreshable login.
 */
function isNewLogin(oauth: OauthTokens, known: OauthTokens | null): boolean {
  if (!known) return true;
  if (oauth.accessToken === known.accessToken) return false;
  if (known.refreshToken && oauth.refreshToken === known.refreshToken) return false;
  return Boolean(oauth.refreshToken) || !known.refreshToken;
}

export class HomeCapturer {
  private lastDigest: string | null = null;
  private lastProblem: string | null = null;
  /** The generation this session's view of the store rests on: the seed's, then each of its own commits. */
  private base: number | null;
  /** The login the home holds as far as the store knows: the seed's, then each new login committed. */
  private known: OauthTokens | null;
  /** The capture holding this session's newest login (null: it made none). */
  private loginGeneration: number | null = null;

  constructor(
    private readonly store: Store,
    private readonly home: string,
    private readonly configDir?: string,
    seed: Seed = { generation: null, oauth: null }, // not seeded: all it finds is new
  ) {
    this.base = seed.generation;
    this.known = seed.oauth;
  }

  /**
   * Captures if the auth state differs from what this capturer last stored (or always, with
   * `force`). `quiet` keeps it off a terminal the login's full-screen UI is using.
   *
   * A new login is committed whatever the store did meanwhile: logging in is what setup is
   * for. Anything else is a login the store already has (the seed, or one this session
   * committed), which a refresh or a run may have rotated since: then the store's own
   * credentials are kept and only the session's settings are committed, by compare-and-swap
   * against the generation the session rests on; if the store moved on, nothing is committed
   * (the newer capture wins over a copy of the past).
   */
  async capture(reason: string, { force = false, quiet = false } = {}): Promise<CaptureOutcome> {
    const paths = cliPaths(this.home, this.configDir);
    // A config dir swapped for a symlink during the login would make root read its target.
    const read: AuthFiles = lstatOrNull(paths.configDir)?.isSymbolicLink()
      ? { status: "invalid", problem: `${describe(paths.configDir, this.home)} is a symlink (not followed)` }
      : readAuthFiles(paths.credentials, paths.claudeJson);
    if (read.status !== "ok") {
      if (quiet) return read.status === "invalid" ? { status: "invalid", problem: read.problem } : { status: "no-credentials" };
      if (read.status === "invalid" && read.problem !== this.lastProblem) {
        log.warn(`not captured (${reason}): ${describe(paths.credentials, this.home)}: ${read.problem}; the earlier capture is kept — finish the login (/login in claude) and exit`);
      }
      this.lastProblem = read.status === "invalid" ? read.problem : null;
      return read.status === "invalid" ? { status: "invalid", problem: read.problem } : { status: "no-credentials" };
    }
    this.lastProblem = null;
    if (read.digest === this.lastDigest && !force) return { status: "unchanged" };

    const login = isNewLogin(read.oauth, this.known);
    let capture: Capture;
    try {
      capture = login
        ? await commit(this.store, (draft) => this.fillLogin(draft, read, paths.configDir), { source: "setup", mode: "oauth" })
        : await this.commitSettings(read, paths.configDir);
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      this.lastDigest = read.digest;
      const generation = (await this.store.generations())[0] ?? null;
      if (!quiet) {
        const made = this.loginGeneration === null ? "no new login in this session" : `nothing new since this session's login (capture ${this.loginGeneration})`;
        log.info(`${made} (${reason}): the store moved on to capture ${generation} meanwhile and keeps that login; nothing more was captured`);
      }
      return { status: "superseded", generation };
    }
    const moved = capture.generation !== this.base;
    this.base = capture.generation;
    this.lastDigest = read.digest;
    if (login) [this.known, this.loginGeneration] = [read.oauth, capture.generation];
    if (!quiet) {
      if (this.loginGeneration !== null) log.info(`captured login state into the store (${reason}, capture ${capture.generation})`);
      else log.info(`no new login in this session (${reason}): the store keeps its login${moved ? ", with this session's settings" : ""} (capture ${capture.generation})`);
    }
    return { status: "captured", generation: capture.generation };
  }

  private fillLogin(draft: string, read: AuthFiles & { status: "ok" }, configDir: string): void {
    writeNewFile(path.join(draft, CREDENTIALS_FILE), read.credentials, this.store.owner);
    this.fillSettings(draft, read, configDir);
  }

  /** The login the store knows is still its current one: keep its files, take the session's settings. */
  private async commitSettings(read: AuthFiles & { status: "ok" }, configDir: string): Promise<Capture> {
    await this.store.ensure();
    return this.store.withLock(async (locked) => {
      // Compare-and-swap: the capture the session rests on must still be the one a reader gets.
      const current = await readCurrentIfValid(locked);
      if (!current || current.generation !== this.base) throw new ConflictError(`the store moved from capture ${this.base} to ${current?.generation ?? null}`);
      return locked.commit((draft) => {
        copyCaptureInto(current, draft, this.store.owner, [CLAUDE_JSON_FILE, ...USER_CONFIG_ENTRIES]);
        this.fillSettings(draft, read, configDir);
      }, { source: "setup", mode: "oauth" });
    });
  }

  private fillSettings(draft: string, read: AuthFiles & { status: "ok" }, configDir: string): void {
    if (read.claudeJson) writeNewFile(path.join(draft, CLAUDE_JSON_FILE), read.claudeJson, this.store.owner);
    const result = { copied: [] as string[], skipped: [] as { path: string; reason: string }[] };
    for (const entry of USER_CONFIG_ENTRIES) {
      copyEntry(path.join(configDir, entry), path.join(draft, entry), { owner: this.store.owner, result });
    }
    for (const skip of result.skipped) log.warn(`skipped ${describe(skip.path, this.home)}: ${skip.reason}`);
  }
}

type AuthFiles =
  | { status: "ok"; credentials: Buffer; oauth: OauthTokens; claudeJson: Buffer | null; digest: string }
  | { status: "missing" }
  | { status: "invalid"; problem: string };

function readAuthFiles(credentialsPath: string, claudeJsonPath: string): AuthFiles {
  if (!lstatOrNull(credentialsPath)) return { status: "missing" };
  let credentials: Buffer;
  try {
    credentials = readRegularFile(credentialsPath, MAX_AUTH_FILE_BYTES);
  } catch (error) {
    if (error instanceof UnsafeFileError) return { status: "invalid", problem: error.message };
    throw error;
  }
  const parsed = parseCredentials(credentials.toString("utf8"));
  if (!parsed.ok) return { status: "invalid", problem: parsed.problem };
  registerSecret(parsed.value.claudeAiOauth.accessToken);
  registerSecret(parsed.value.claudeAiOauth.refreshToken);

  let claudeJson: Buffer | null = null;
  try {
    if (lstatOrNull(claudeJsonPath)) claudeJson = readRegularFile(claudeJsonPath, MAX_AUTH_FILE_BYTES);
  } catch (error) {
    if (!(error instanceof UnsafeFileError)) throw error;
    log.warn(`skipped ${claudeJsonPath}: ${error.message}`);
  }
  if (claudeJson && !parseClaudeJson(claudeJson.toString("utf8")).ok) {
    log.warn(`skipped ${claudeJsonPath}: not valid JSON; onboarding state will be generated at run time`);
    claudeJson = null;
  }
  const digest = crypto.createHash("sha256").update(credentials).update("\0").update(claudeJson ?? "").digest("hex");
  return { status: "ok", credentials, oauth: parsed.value.claudeAiOauth, claudeJson, digest };
}

function describe(file: string, home: string): string {
  return file.startsWith(home + "/") ? `~/${path.relative(home, file)}` : file;
}
