import crypto from "node:crypto";
import path from "node:path";
import { CLAUDE_JSON_FILE, CREDENTIALS_FILE, MAX_AUTH_FILE_BYTES, USER_CONFIG_ENTRIES, cliPaths } from "../core/layout";
import { parseClaudeJson, parseCredentials } from "../core/credentials";
import { lstatOrNull, readRegularFile, UnsafeFileError, writeNewFile } from "../core/safe-fs";
import { copyEntry } from "../core/safe-copy";
import type { Store } from "../core/store";
import { log } from "../core/output";
import { registerSecret } from "../core/redact";

// Copies the CLI's auth state out of a home directory into the store: credentials,
// .claude.json and the user config allow-list. Checked before anything is committed, so
// an empty or broken login never replaces a good capture.

export type CaptureOutcome =
  | { status: "captured"; generation: number }
  | { status: "unchanged" }
  | { status: "no-credentials" }
  | { status: "invalid"; problem: string };

export class HomeCapturer {
  private lastDigest: string | null = null;
  private lastProblem: string | null = null;

  constructor(
    private readonly store: Store,
    private readonly home: string,
    private readonly configDir?: string,
  ) {}

  /**
   * Captures if the auth state differs from what this capturer last stored (or always, with
   * `force`). `quiet` keeps it off a terminal the login's full-screen UI is using.
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

    const capture = await this.store.commit(
      (draft) => {
        writeNewFile(path.join(draft, CREDENTIALS_FILE), read.credentials, this.store.owner);
        if (read.claudeJson) writeNewFile(path.join(draft, CLAUDE_JSON_FILE), read.claudeJson, this.store.owner);
        const result = { copied: [] as string[], skipped: [] as { path: string; reason: string }[] };
        for (const entry of USER_CONFIG_ENTRIES) {
          copyEntry(path.join(paths.configDir, entry), path.join(draft, entry), { owner: this.store.owner, result });
        }
        for (const skip of result.skipped) log.warn(`skipped ${describe(skip.path, this.home)}: ${skip.reason}`);
      },
      { source: "setup", mode: "oauth" },
    );
    this.lastDigest = read.digest;
    if (!quiet) log.info(`captured login state into the store (${reason}, capture ${capture.generation})`);
    return { status: "captured", generation: capture.generation };
  }
}

type AuthFiles =
  | { status: "ok"; credentials: Buffer; claudeJson: Buffer | null; digest: string }
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
  return { status: "ok", credentials, claudeJson, digest };
}

function describe(file: string, home: string): string {
  return file.startsWith(home + "/") ? `~/${path.relative(home, file)}` : file;
}
