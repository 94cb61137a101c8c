import fs from "node:fs";
import path from "node:path";
import { DEFAULT_STORE_IN_CONTAINER } from "../core/layout";
import { decodeSwarmSecret, SWARM_SECRET_MAX_BYTES, SWARM_SECRET_PATH } from "../core/swarm-secret";
import { InvalidCaptureError, readCapture, type Capture } from "../core/store";
import { DirStore } from "../core/store-dir";
import { parseStoreAddress } from "../core/store-address";
import { lstatOrNull, readRegularFile, UnsafeFileError, writeNewFile } from "../core/safe-fs";
import { formatRelative } from "../core/duration";
import { UserError, errorMessage } from "../core/errors";
import { log } from "../core/output";
import type { RuntimeUser } from "./user";
import { refuseReadableFile } from "./store-reach";
import { checkWorkDir } from "./working-copy";

// A Docker Swarm secret as a read-only store. Swarm secrets are immutable, so nothing here
// refreshes or writes back: the run gets the secret's access token (or long-lived token) in
// the usual working copy, and a new secret version replaces the task when the capture moves
// on (`docker claudeauth swarm secret --rotate`). The secret is one file that root unpacks
// into a directory of its own, read through the same validation as a store's capture.

const RUN_HINT = "on a manager: docker claudeauth refresh, then docker claudeauth swarm secret --rotate SERVICE";

/**
 * The secret to read as the store, when that is what is mounted: CLAUDEAUTH_STORE (--store)
 * naming a file, or no store at the default path (the image's empty directory) and a secret
 * at /run/secrets/claudeauth.
 */
export function swarmSecretFile(store: string): string | null {
  if (parseStoreAddress(store).kind !== "dir") return null;
  if (lstatOrNull(store)?.isFile()) return store;
  if (store === DEFAULT_STORE_IN_CONTAINER && !new DirStore(store, undefined, { quiet: true }).exists() && lstatOrNull(SWARM_SECRET_PATH)?.isFile()) return SWARM_SECRET_PATH;
  return null;
}

/** A secret serves only run and health; every other mode writes a store (or reports one on a manager). */
export function refuseSwarmSecret(file: string, mode: string): never {
  throw new UserError(`cannot ${mode} with the Swarm secret ${file} as the store: a secret is read-only; ${mode} the store on a manager and rotate the secret (docker claudeauth swarm secret --rotate SERVICE)`);
}

/** A run: the workload must not read the secret (it may hold a refresh token), and it must still be usable. */
export function openSwarmSecretForRun<T>(file: string, user: RuntimeUser, workDir: string, marginMs: number, use: (capture: Capture) => T): T {
  refuseReadableFile(file, user, `add uid=0,gid=0,mode=0400 to the service's --secret (source=NAME,target=claudeauth,uid=0,gid=0,mode=0400)`);
  return withSwarmSecretCapture(file, workDir, (capture) => {
    checkExpiry(capture, file, marginMs);
    return use(capture);
  });
}

/** Unpacks the secret as root into a private directory, reads it as a capture, gives it to `use`, removes the directory. */
export function withSwarmSecretCapture<T>(file: string, workDir: string, use: (capture: Capture) => T): T {
  let text: string;
  try {
    text = readRegularFile(file, SWARM_SECRET_MAX_BYTES).toString("utf8");
  } catch (error) {
    const problem = error instanceof UnsafeFileError ? `it ${error.message}` : errorMessage(error);
    throw new UserError(`cannot read the Swarm secret ${file}: ${problem}; mount the secret made by docker claudeauth swarm secret`);
  }
  const decoded = decodeSwarmSecret(text);
  if (!decoded.ok) throw new UserError(`the Swarm secret ${file} is not usable: ${decoded.problem}; make one with docker claudeauth swarm secret`);
  const secret = decoded.value;
  // Root's own 0700 directory, in a work dir the workload cannot rearrange (a health check runs
  // next to it): it cannot see it while it exists, and it is gone before a workload starts.
  checkWorkDir(workDir);
  const dir = fs.mkdtempSync(path.join(workDir, "claudeauth-secret-"));
  try {
    fs.chmodSync(dir, 0o700);
    for (const [name, content] of Object.entries(secret.files)) writeNewFile(path.join(dir, name), content);
    let capture: Capture;
    try {
      capture = readCapture(dir, secret.generation);
    } catch (error) {
      if (!(error instanceof InvalidCaptureError)) throw error;
      throw new UserError(`the Swarm secret ${file} (capture ${secret.generation} of profile ${secret.profile}) is not usable: ${error.problem}; make a new one with docker claudeauth swarm secret`);
    }
    return use(capture);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** An expired access token cannot be renewed from a secret: stop before the workload, with the fix. */
function checkExpiry(capture: Capture, file: string, marginMs: number): void {
  const expiresAt = capture.credentials?.claudeAiOauth.expiresAt;
  if (expiresAt === undefined) return;
  const left = expiresAt - Date.now();
  const what = `the access token in the Swarm secret ${file} (capture ${capture.generation})`;
  if (left <= 0) throw new UserError(`${what} expired ${formatRelative(left)} and a secret cannot be refreshed; ${RUN_HINT}`);
  if (left <= marginMs) log.warn(`${what} expires ${formatRelative(left)} and a secret cannot be refreshed; ${RUN_HINT}`);
}
