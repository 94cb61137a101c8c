import fs from "node:fs";
import path from "node:path";
import { CLAUDE_JSON_FILE, CREDENTIALS_FILE, USER_CONFIG_ENTRIES } from "../core/layout";
import { serializeJson, withoutRefreshToken, type CredentialsFile } from "../core/credentials";
import { withOnboardingDone } from "../core/onboarding";
import { replaceFileAtomically, writeNewFile, type Owner } from "../core/safe-fs";
import { copyEntry } from "../core/safe-copy";
import type { Capture } from "../core/store";

// A run's private CLAUDE_CONFIG_DIR: only what auth needs, on a tmpfs, owned by the
// runtime user. The workload gets the access token, never the refresh token: only the
// entrypoint may spend that, under the store lock.

export function prepareWorkingCopy(capture: Capture, workDir: string, owner: Owner, trustDir: string): string {
  const dir = fs.mkdtempSync(path.join(workDir, "claudeauth-"));
  fs.chmodSync(dir, 0o700);
  fs.chownSync(dir, owner.uid, owner.gid);
  if (capture.credentials) writeWorkloadCredentials(dir, capture.credentials, owner, false);
  writeNewFile(path.join(dir, CLAUDE_JSON_FILE), serializeJson(withOnboardingDone(capture.claudeJson, trustDir)), owner);
  for (const entry of USER_CONFIG_ENTRIES) copyEntry(path.join(capture.dir, entry), path.join(dir, entry), { owner });
  return dir;
}

/** Puts fresh credentials in front of a running workload; the CLI re-reads the file on a 401. */
export function writeWorkloadCredentials(dir: string, credentials: CredentialsFile, owner: Owner, replace = true): void {
  const text = serializeJson(withoutRefreshToken(credentials));
  const file = path.join(dir, CREDENTIALS_FILE);
  if (replace) replaceFileAtomically(file, text, owner);
  else writeNewFile(file, text, owner);
}
