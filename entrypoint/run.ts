import fs from "node:fs";
import type { Capture, Store } from "../core/store";
import { DirStore } from "../core/store-dir";
import { UserError, errorMessage } from "../core/errors";
import { log } from "../core/output";
import { relaySignals, startWorkload } from "./child";
import { execInto } from "./exec";
import { openStore } from "./open-store";
import { dropPrivileges, userEnvironment } from "./privileges";
import { RefreshRejectedError, ensureFresh, type TokenEndpoint } from "../core/refresh";
import { claimTmpfsHome, resolveUser, type RuntimeUser } from "./user";
import { refuseReachableStore } from "./store-reach";
import { ChannelStore } from "./channel-store";
import { refuseReadableServiceAccountToken } from "./in-cluster";
import { KubernetesStore } from "../core/kubernetes/store";
import { superviseTokens } from "./supervisor";
import { prepareWorkingCopy, workloadHome, type WorkingCopy } from "./working-copy";
import { endLeftovers, removeWorkingCopy } from "./clean-up";
import { writeBack } from "./write-back";
import { containerIdentity, entrypointRefresher, recordEvent } from "./audit";
import { overrideWarnings, readSettings } from "../core/overrides";
import { openSwarmSecretForRun, swarmSecretFile } from "./swarm-secret";
import type { Options } from "./options";

// Run mode: working copy → (refresh if due) → drop privileges → workload. With OAuth
// credentials the entrypoint stays to keep the workload's access token fresh and, when
// allowed, to keep a login made inside the run; with a long-lived token, or --no-supervise,
// it execs the workload.
export async function runMode(options: Options): Promise<number> {
  const user = resolveUser(options.user, options);
  claimTmpfsHome(user);
  const secret = swarmSecretFile(options.store);
  if (secret) return runFromSwarmSecret(secret, options, user);
  const store = openMountedStore(options);
  await refuseUnsafeStart(store, user);
  const capture = await freshCapture(store, options, options.refreshMarginMs);

  const workingCopy = prepareWorkingCopy(capture, options.workDir, user, options.trustDir, !user.known);
  const env = workloadEnvironment(user, workingCopy, capture);
  for (const warning of overrideWarnings(env, readSettings(capture.dir))) log.warn(warning);
  const identity = containerIdentity();
  const exec = !capture.credentials || !options.supervise;
  await recordEvent(store, { kind: "run-start", ...identity, generation: capture.generation, detail: `${options.command[0]} as uid ${user.uid}${exec ? " (exec: no end is recorded)" : ""}` });

  if (exec) {
    dropPrivileges(user);
    return execInto(options.command, env);
  }

  const workload = startWorkload(options.command, user, env);
  const stopRelay = relaySignals(workload.child, () => undefined);
  const supervisor = superviseTokens(store, options, options.refreshMarginMs, workingCopy, user, capture);
  const outcome = await workload.done;
  await supervisor.stop();
  stopRelay();
  // Nothing of the workload may still be running when its files are read.
  if (endLeftovers(user)) {
    try {
      await writeBack(store, workingCopy, supervisor.current(), options, options.allowLogin);
    } catch (error) {
      log.error(`could not write the run's login back to the store: ${errorMessage(error)}`);
    }
  }
  removeWorkingCopy(workingCopy, user);
  await recordEvent(store, { kind: "run-end", ...identity, exitCode: outcome.code, generation: supervisor.current().generation });
  return outcome.code;
}

/** A store the workload could reach is an attack or a mistake: recorded, then refused. */
async function refuseUnsafeStart(store: Store, user: RuntimeUser): Promise<void> {
  try {
    if (store instanceof DirStore) refuseReachableStore(store.root, user);
    if (store instanceof ChannelStore) refuseReachableStore(store.mirrorRoot, user);
    if (store instanceof KubernetesStore) refuseReadableServiceAccountToken(user);
  } catch (error) {
    await recordEvent(store, { kind: "refused", outcome: "store-reachable", ...containerIdentity(), detail: errorMessage(error) });
    throw error;
  }
}

/** A Docker Swarm secret is a read-only store: no refresh, no write-back, nothing to supervise. */
function runFromSwarmSecret(file: string, options: Options, user: RuntimeUser): number {
  const env = openSwarmSecretForRun(file, user, options.workDir, options.refreshMarginMs, (capture) => {
    const workingCopy = prepareWorkingCopy(capture, options.workDir, user, options.trustDir, !user.known);
    return workloadEnvironment(user, workingCopy, capture);
  });
  dropPrivileges(user);
  return execInto(options.command, env);
}

function openMountedStore(options: Options): Store {
  const store = openStore(options.store, options.owner, options);
  if (store instanceof DirStore && !fs.existsSync(store.root)) {
    throw new UserError(`no store at ${options.store}: mount one (docker claudeauth run does) or set CLAUDEAUTH_STORE`);
  }
  return store;
}

async function freshCapture(store: Store, endpoint: TokenEndpoint, marginMs: number): Promise<Capture> {
  const capture = await store.readCurrent();
  if (!capture || capture.meta.mode === "logged-out") throw notLoggedIn(store);
  try {
    return (await ensureFresh(store, endpoint, marginMs, entrypointRefresher())) ?? capture;
  } catch (error) {
    if (error instanceof RefreshRejectedError) throw error;
    // Offline or the endpoint is down: the current token may still serve this run.
    log.warn(`could not refresh the access token (${errorMessage(error)}); using the one in the store`);
    return capture;
  }
}

export function notLoggedIn(store: Store): UserError {
  return new UserError(`not logged in: the store at ${store.location} holds no login; run "docker claudeauth setup" first`);
}

function workloadEnvironment(user: RuntimeUser, workingCopy: WorkingCopy, capture: Capture): NodeJS.ProcessEnv {
  const env = userEnvironment(process.env, user, user.known ? user.home : workloadHome(workingCopy));
  env.CLAUDE_CONFIG_DIR = workingCopy.dir;
  // The CLI keeps this variable out of what its Bash tool runs (2.1.197, tested). Not
  // CLAUDE_CODE_SUBPROCESS_ENV_SCRUB=1: that CLI then refuses to start without bubblewrap,
  // which cannot make namespaces under Docker's default seccomp profile.
  if (capture.longLivedToken) env.CLAUDE_CODE_OAUTH_TOKEN = capture.longLivedToken;
  return env;
}
