import fs from "node:fs";
import path from "node:path";
import { CLAUDE_JSON_FILE, CREDENTIALS_FILE, USER_CONFIG_ENTRIES } from "../core/layout";
import { serializeJson, withoutRefreshToken, type CredentialsFile } from "../core/credentials";
import { withOnboardingDone } from "../core/onboarding";
import { makePrivateDir, replaceFileAtomically, writeNewFile, type Owner } from "../core/safe-fs";
import { copyEntry } from "../core/safe-copy";
import { UserError } from "../core/errors";
import type { Capture } from "../core/store";

// A run's private CLAUDE_CONFIG_DIR: only what auth needs, on a tmpfs, owned by the
// runtime user. The workload gets the access token, never the refresh token: only the
// entrypoint may spend that, under the store lock.
//
// The workload owns `dir` and can swap anything inside it for a symlink at any moment, so
// root never opens a path inside it for writing: `dir` sits in a root-owned `parent` the
// workload can traverse but not change, and new files are made in `parent` and renamed
// into `dir` (a rename replaces a planted symlink, it never follows one).

const HOME = "home";

export type WorkingCopy = { parent: string; dir: string };

export function prepareWorkingCopy(capture: Capture, workDir: string, owner: Owner, trustDir: string, withHome: boolean): WorkingCopy {
  checkWorkDir(workDir);
  const parent = fs.mkdtempSync(path.join(workDir, "claudeauth-"));
  fs.chmodSync(parent, 0o711);
  const dir = path.join(parent, "config");
  // Filled while still root's own 0700 dir, handed over last: even a process of the runtime
  // user that is already running cannot reach a file before it is complete.
  fs.mkdirSync(dir, { mode: 0o700 });
  if (capture.credentials) writeNewFile(path.join(dir, CREDENTIALS_FILE), workloadCredentials(capture.credentials), owner);
  writeNewFile(path.join(dir, CLAUDE_JSON_FILE), serializeJson(withOnboardingDone(capture.claudeJson, trustDir)), owner);
  for (const entry of USER_CONFIG_ENTRIES) copyEntry(path.join(capture.dir, entry), path.join(dir, entry), { owner });
  // A uid without a passwd entry has no usable home: give it one inside the working copy.
  if (withHome) makePrivateDir(path.join(dir, HOME), owner);
  fs.chownSync(dir, owner.uid, owner.gid);
  return { parent, dir };
}

/** Puts fresh credentials in front of a running workload; the CLI re-reads the file on a 401. */
export function writeWorkloadCredentials(copy: WorkingCopy, credentials: CredentialsFile, owner: Owner): void {
  replaceFileAtomically(path.join(copy.dir, CREDENTIALS_FILE), workloadCredentials(credentials), owner, 0o600, copy.parent);
}

export function workloadHome(copy: WorkingCopy): string {
  return path.join(copy.dir, HOME);
}

function workloadCredentials(credentials: CredentialsFile): string {
  return serializeJson(withoutRefreshToken(credentials));
}

/**
 * The work dir must not be the workload's to rearrange: a dir it could write (without the
 * sticky bit that keeps our entries ours) would let it swap our root-owned parent away.
 */
export function checkWorkDir(workDir: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(workDir);
  } catch {
    throw new UserError(`the work dir ${workDir} does not exist: mount a tmpfs there or set CLAUDEAUTH_WORK_DIR`);
  }
  const writableByOthers = (stat.mode & 0o022) !== 0 && (stat.mode & 0o1000) === 0;
  const ours = stat.uid === 0 || stat.uid === process.getuid!();
  if (!stat.isDirectory() || !ours || writableByOthers) {
    throw new UserError(`the work dir ${workDir} must be a directory owned by root that others cannot rearrange (mode 0755, or 1777 on a tmpfs): fix it or set CLAUDEAUTH_WORK_DIR`);
  }
}
