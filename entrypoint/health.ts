import fs from "node:fs";
import { InvalidCaptureError, type Capture } from "../core/store";
import { DirStore } from "../core/store-dir";
import { summarize } from "../core/credentials";
import { formatDuration, formatRelative } from "../core/duration";
import { errorMessage } from "../core/errors";
import { print } from "../core/output";
import type { Options } from "./options";
import { parseStoreAddress } from "../core/store-address";
import { HELPER_MIRROR } from "./channel-store";
import { swarmSecretFile, withSwarmSecretCapture } from "./swarm-secret";

// HEALTHCHECK: one line, exit 0 (healthy) or 1. Reads the store only; no network.
export function healthMode(options: Options): number {
  const [healthy, line] = checkHealth(options);
  print(`${healthy ? "healthy" : "unhealthy"}: ${line}`);
  return healthy ? 0 : 1;
}

function checkHealth(options: Options): [boolean, string] {
  const secret = swarmSecretFile(options.store);
  // A helper store: the copy the run's entrypoint keeps (the plugin's channel takes one connection, the run's).
  const root = parseStoreAddress(options.store).kind === "helper" ? HELPER_MIRROR : options.store;
  if (!secret && !fs.existsSync(root)) return [false, `no store mounted at ${root}`];
  let capture: Capture | null;
  try {
    // A Swarm secret is unpacked into a root-only directory that is gone when this returns.
    capture = secret ? withSwarmSecretCapture(secret, options.workDir, (c) => c) : new DirStore(root).readCurrentSync();
  } catch (error) {
    return [false, `the store's capture is invalid: ${error instanceof InvalidCaptureError ? error.problem : errorMessage(error)}`];
  }
  if (!capture) return [false, "the store holds no capture: run docker claudeauth setup"];
  if (capture.meta.mode === "logged-out") return [false, "logged out: run docker claudeauth setup"];
  // Runs fall back to an older capture, whose refresh token may be spent: not a healthy store.
  const newest = capture.skipped[0];
  if (newest) return [false, `the store's capture ${newest.generation} is invalid (${newest.problem}); runs fall back to capture ${capture.generation}: run docker claudeauth setup`];
  const ignored = capture.ignored[0];
  if (ignored) return [false, `${ignored.file} of the store's capture ${capture.generation} is invalid (${ignored.problem}): run docker claudeauth refresh or setup`];
  if (!capture.credentials) return [true, "long-lived token present"];
  const summary = summarize(capture.credentials);
  const refresh = summary.hasRefreshToken ? "refresh token present" : "no refresh token";
  if (summary.expiresInMs <= options.minValidityMs) {
    const when = summary.expired ? "expired" : `expires within the required ${formatDuration(options.minValidityMs)}:`;
    return [false, `access token ${when} ${formatRelative(summary.expiresInMs)} (${refresh})`];
  }
  return [true, `credentials valid, access token expires ${formatRelative(summary.expiresInMs)} (${refresh})`];
}
