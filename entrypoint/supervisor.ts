import { errorMessage } from "../core/errors";
import { log } from "../core/output";
import { formatDuration } from "../core/duration";
import type { Owner } from "../core/safe-fs";
import type { Capture, Store } from "../core/store";
import type { CredentialsFile } from "../core/credentials";
import { ensureFresh, type TokenEndpoint } from "../core/refresh";
import { entrypointRefresher } from "./audit";
import { writeWorkloadCredentials, type WorkingCopy } from "./working-copy";

// While a workload runs, keep its access token fresh: refresh (single-flight, through the
// store) before the token enters the margin, and write the new access token into the
// working copy. The CLI notices the changed file before its next request.

const RETRY_MS = 60_000;
const MAX_TIMER_MS = 2 ** 31 - 1;

/** When to refresh next: before the margin; at half-life when tokens live shorter than the margin. */
export function nextRefreshIn(expiresAt: number, marginMs: number, now = Date.now()): number {
  const remaining = expiresAt - now;
  return Math.min(Math.max(remaining - marginMs, remaining / 2, 1_000), MAX_TIMER_MS);
}

/** `stop()` resolves once no refresh is under way: nothing is written into the working copy after it. */
export type Supervisor = { stop(): Promise<void>; current(): Capture };

export function superviseTokens(store: Store, endpoint: TokenEndpoint, marginMs: number, workingCopy: WorkingCopy, owner: Owner, initial: Capture): Supervisor {
  let capture = initial;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> = Promise.resolve();
  let stopped = false;
  const schedule = (delay: number) => {
    if (stopped) return;
    timer = setTimeout(() => (inFlight = tick()), delay);
    timer.unref();
  };
  const tick = async () => {
    try {
      const next = await ensureFresh(store, endpoint, marginMs, entrypointRefresher());
      if (next?.credentials && next.generation !== capture.generation) {
        capture = next;
        if (!stopped) handOver(workingCopy, next.credentials, owner);
      }
      schedule(nextRefreshIn(capture.credentials!.claudeAiOauth.expiresAt, marginMs));
    } catch (error) {
      // The run is not stopped: the token it has serves until it expires.
      const left = capture.credentials!.claudeAiOauth.expiresAt - Date.now();
      const goesOn = left > 0 ? `the run goes on with its access token (valid for ${formatDuration(left)} more)` : "the run's access token has expired";
      log.warn(`could not refresh the access token: ${errorMessage(error)}; ${goesOn}; retrying in a minute`);
      schedule(RETRY_MS);
    }
  };
  schedule(nextRefreshIn(capture.credentials!.claudeAiOauth.expiresAt, marginMs));
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
    return inFlight;
  };
  return { stop, current: () => capture };
}

/** A workload that planted a directory where its credentials go keeps its old token; the store is not at stake. */
function handOver(workingCopy: WorkingCopy, credentials: CredentialsFile, owner: Owner): void {
  try {
    writeWorkloadCredentials(workingCopy, credentials, owner);
  } catch (error) {
    log.warn(`could not put the fresh access token in the working copy: ${errorMessage(error)}`);
  }
}
