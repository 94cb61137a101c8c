import fs from "node:fs";
import path from "node:path";
import { bundleText, encodeBundle, parseBundle, type CaptureBundle } from "../../core/capture-bundle";
import { CAPTURE_META_FILE, CREDENTIALS_FILE, DEFAULT_STORE_IN_CONTAINER, LONG_LIVED_TOKEN_FILE, SETTINGS_FILE } from "../../core/layout";
import { withLock } from "../../core/lock";
import { errorMessage, UserError } from "../../core/errors";
import { log } from "../../core/output";
import type { Docker } from "../engine/docker";
import { CredentialHelper } from "./credential-helper";
import { HelperChannel } from "./helper-channel";
import { describeStore, hubRoot, type HostStoreRef } from "./profile";
import { captureReport, emptyReport, type StoreReport } from "../../core/store-report";
import { InvalidCaptureError, readCaptureFiles } from "../../core/store";

// A store kept by a Docker credential helper, as the plugin uses it: read here, directly from
// the helper (status needs no container), and handed to a container through the channel
// (helper-channel.ts) with a tmpfs for the entrypoint's working copy. Nothing of it is ever
// written to a disk by us.

type HelperRef = HostStoreRef & { kind: "helper" };

/** The lock of a helper store, shared by every docker claudeauth of this user (a directory; no secret in it). */
export function helperLockDir(ref: HelperRef): string {
  return path.join(hubRoot(), ".locks", `helper-${ref.helper}-${ref.profile}.lock`);
}

/** What the helper holds for the profile: the capture, or null (no entry). */
export async function readHelperBundle(ref: HelperRef): Promise<CaptureBundle | null> {
  const secret = await new CredentialHelper(ref.helper).get(ref.profile);
  if (secret === null) return null;
  try {
    return parseBundle(secret);
  } catch (error) {
    throw new UserError(`${describeStore(ref)} does not hold a capture of docker claudeauth (${errorMessage(error)}): log in again with docker claudeauth setup --store helper:${ref.configured ? "" : ref.helper}`);
  }
}

/** What the helper holds, as the report every store gives (core/store-report.ts): read in memory, never a file. */
export async function readHelperReport(ref: HelperRef): Promise<StoreReport> {
  const report = emptyReport(describeStore(ref));
  const bundle = await readHelperBundle(ref);
  if (!bundle) return report;
  Object.assign(report, { exists: true, generations: [bundle.generation] });
  try {
    report.current = captureReport(readCaptureFiles((name) => bundleText(bundle, name), bundle.generation, { lenient: true }), undefined, bundleText(bundle, SETTINGS_FILE));
  } catch (error) {
    if (!(error instanceof InvalidCaptureError)) throw error;
    report.problem = error.problem;
  }
  return report;
}

/**
 * Logs the profile out of its helper store: a new capture without credentials (settings and
 * .claude.json kept, as for every backend), written under the store's lock. Its generation;
 * null when the helper held no login.
 */
export async function logoutHelper(ref: HelperRef): Promise<number | null> {
  return withHelperLock(ref, async () => {
    const bundle = await readHelperBundle(ref);
    if (!bundle || (!bundle.files[CREDENTIALS_FILE] && !bundle.files[LONG_LIVED_TOKEN_FILE])) return null;
    const files = Object.fromEntries(Object.entries(bundle.files).filter(([name]) => name !== CREDENTIALS_FILE && name !== LONG_LIVED_TOKEN_FILE));
    const meta = { schema: 1, capturedAt: new Date().toISOString(), source: "logout", mode: "logged-out" };
    files[CAPTURE_META_FILE] = Buffer.from(JSON.stringify(meta, null, 2) + "\n").toString("base64");
    await new CredentialHelper(ref.helper).store(ref.profile, encodeBundle({ schema: 1, generation: bundle.generation + 1, files }));
    return bundle.generation + 1;
  });
}

/** Removes the profile's entry from the helper (profile rm); false when there was none. */
export function removeHelperEntry(ref: HelperRef): Promise<boolean> {
  return withHelperLock(ref, () => new CredentialHelper(ref.helper).erase(ref.profile));
}

function withHelperLock<T>(ref: HelperRef, fn: () => Promise<T>): Promise<T> {
  fs.mkdirSync(path.dirname(helperLockDir(ref)), { recursive: true, mode: 0o700 });
  return withLock(helperLockDir(ref), fn);
}

/**
 * A helper store needs the engine on this machine: the channel is a unix socket bind-mounted
 * into the container. A remote engine is refused in one line that says what works.
 */
export async function refuseRemoteEngine(ref: HelperRef, docker: Docker): Promise<void> {
  const endpoint = await docker.endpoint();
  if (endpoint && !endpoint.startsWith("unix://") && !endpoint.startsWith("npipe://")) {
    throw new UserError(
      `a store in docker-credential-${ref.helper} works with a Docker engine on this machine only (the engine is at ${endpoint}): use a local engine, or keep this profile's store in a volume (--store-volume NAME)`,
      125,
    );
  }
}

/** What a container of a helper store gets, and what must happen when it is gone. */
export type ContainerStore = { flags: string[]; finish(): Promise<void> };

/**
 * Opens the channel for one container: its socket directory, a tmpfs (root's, 0700) where the
 * entrypoint keeps its working copy of the store, and the store's address.
 */
export async function helperContainerStore(ref: HelperRef, docker: Docker): Promise<ContainerStore> {
  await refuseRemoteEngine(ref, docker);
  const channel = await HelperChannel.open(new CredentialHelper(ref.helper), ref.profile, helperLockDir(ref));
  return {
    flags: ["--tmpfs", `${DEFAULT_STORE_IN_CONTAINER}:mode=0700,size=64m`, ...channel.containerFlags(), "-e", `CLAUDEAUTH_STORE=helper:${ref.helper}`],
    async finish() {
      const problem = await channel.close();
      if (problem) log.error(`the channel to the container failed: ${problem}`);
    },
  };
}
