import path from "node:path";
import { CLAUDE_JSON_FILE, CREDENTIALS_FILE, MAX_AUTH_FILE_BYTES } from "../core/layout";
import { parseCredentials } from "../core/credentials";
import { withLock } from "../core/lock";
import { lstatOrNull, readRegularFile } from "../core/safe-fs";
import { copyEntry } from "../core/safe-copy";
import { copyCaptureInto, type Capture, type Store } from "../core/store";
import { log } from "../core/output";

// After a run: if the workload logged in afresh (it holds a refresh token we never gave
// it), that login goes back to the store. Compare-and-swap under the lock: it replaces the
// capture the run started from, or an older-expiring one; never a newer token.

export async function writeBack(store: Store, workingCopy: string, base: Capture): Promise<boolean> {
  const file = path.join(workingCopy, CREDENTIALS_FILE);
  if (!lstatOrNull(file)) return false;
  const parsed = parseCredentials(readRegularFile(file, MAX_AUTH_FILE_BYTES).toString("utf8"));
  if (!parsed.ok) return false; // logged out or blanked: nothing worth keeping
  const ours = parsed.value.claudeAiOauth;
  if (!ours.refreshToken || ours.refreshToken === base.credentials?.claudeAiOauth.refreshToken) return false;

  return withLock(store.lockDir, () => {
    const current = store.readCurrent();
    const theirs = current?.credentials?.claudeAiOauth;
    if (current && current.generation !== base.generation && theirs && theirs.expiresAt >= ours.expiresAt) {
      log.info("not written back: the store already holds newer credentials");
      return false;
    }
    store.commitLocked((draft) => {
      if (current) copyCaptureInto(current, draft, store.owner, [CREDENTIALS_FILE, CLAUDE_JSON_FILE]);
      copyEntry(file, path.join(draft, CREDENTIALS_FILE), { owner: store.owner });
      copyEntry(path.join(workingCopy, CLAUDE_JSON_FILE), path.join(draft, CLAUDE_JSON_FILE), { owner: store.owner });
    }, { source: "write-back", mode: "oauth" });
    log.info("wrote the run's new login back to the store");
    return true;
  });
}
