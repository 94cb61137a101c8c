import fs from "node:fs";
import { Store } from "../core/store";
import { summarize } from "../core/credentials";
import { formatDuration, formatRelative } from "../core/duration";
import { errorMessage } from "../core/errors";
import { print } from "../core/output";
import type { Options } from "./options";

// HEALTHCHECK: one line, exit 0 (healthy) or 1. Reads the store only; no network.
export function healthMode(options: Options): number {
  const [healthy, line] = checkHealth(options);
  print(`${healthy ? "healthy" : "unhealthy"}: ${line}`);
  return healthy ? 0 : 1;
}

function checkHealth(options: Options): [boolean, string] {
  if (!fs.existsSync(options.store)) return [false, `no store mounted at ${options.store}`];
  let capture;
  try {
    capture = new Store(options.store).readCurrent();
  } catch (error) {
    return [false, `the store's capture is invalid: ${errorMessage(error)}`];
  }
  if (!capture) return [false, "the store holds no capture: run docker claudeauth setup"];
  if (!capture.credentials) return [true, "long-lived token present"];
  const summary = summarize(capture.credentials);
  const refresh = summary.hasRefreshToken ? "refresh token present" : "no refresh token";
  if (summary.expiresInMs <= options.minValidityMs) {
    const when = summary.expired ? "expired" : `expires within the required ${formatDuration(options.minValidityMs)}:`;
    return [false, `access token ${when} ${formatRelative(summary.expiresInMs)} (${refresh})`];
  }
  return [true, `credentials valid, access token expires ${formatRelative(summary.expiresInMs)} (${refresh})`];
}
