import fs from "node:fs";
import path from "node:path";
import type { Capture, Store } from "../core/store";
import { UserError, errorMessage } from "../core/errors";
import { log } from "../core/output";
import { relaySignals, startWorkload } from "./child";
import { execInto } from "./exec";
import { openStore } from "./owner";
import { dropPrivileges, userEnvironment } from "./privileges";
import { RefreshRejectedError, ensureFresh, type TokenEndpoint } from "./refresh";
import { claimTmpfsHome, resolveUser, type RuntimeUser } from "./user";
import { superviseTokens } from "./supervisor";
import { prepareWorkingCopy } from "./working-copy";
import { writeBack } from "./write-back";
import type { Options } from "./options";

// Run mode: working copy → (refresh if due) → drop privileges → workload. With OAuth
// credentials the entrypoint stays to keep the workload's access token fresh and to write
// a new login back; with a long-lived token, or --no-supervise, it execs the workload.
export async function runMode(options: Options): Promise<number> {
  const user = resolveUser(options.user, options);
  claimTmpfsHome(user);
  const store = openMountedStore(options);
  const endpoint: TokenEndpoint = options;
  const capture = await freshCapture(store, endpoint, options.refreshMarginMs);

  const workingCopy = prepareWorkingCopy(capture, options.workDir, user, options.trustDir);
  const env = workloadEnvironment(user, workingCopy, capture);

  if (!capture.credentials || !options.supervise) {
    dropPrivileges(user);
    return execInto(options.command, env);
  }

  const workload = startWorkload(options.command, user, env);
  const stopRelay = relaySignals(workload.child, () => undefined);
  const supervisor = superviseTokens(store, endpoint, options.refreshMarginMs, workingCopy, user, capture);
  const outcome = await workload.done;
  supervisor.stop();
  stopRelay();
  try {
    await writeBack(store, workingCopy, supervisor.current());
  } catch (error) {
    log.error(`could not write the run's login back to the store: ${errorMessage(error)}`);
  }
  fs.rmSync(workingCopy, { recursive: true, force: true });
  return outcome.code;
}

function openMountedStore(options: Options): Store {
  if (!fs.existsSync(options.store)) {
    throw new UserError(`no store at ${options.store}: mount one (docker claudeauth run does) or set CLAUDEAUTH_STORE`);
  }
  return openStore(options.store, options.owner);
}

async function freshCapture(store: Store, endpoint: TokenEndpoint, marginMs: number): Promise<Capture> {
  const capture = store.readCurrent();
  if (!capture) throw new UserError(`not logged in: the store at ${store.root} holds no capture; run "docker claudeauth setup" first`);
  try {
    return (await ensureFresh(store, endpoint, marginMs)) ?? capture;
  } catch (error) {
    if (error instanceof RefreshRejectedError) throw error;
    // Offline or the endpoint is down: the current token may still serve this run.
    log.warn(`could not refresh the access token (${errorMessage(error)}); using the one in the store`);
    return capture;
  }
}

function workloadEnvironment(user: RuntimeUser, workingCopy: string, capture: Capture): NodeJS.ProcessEnv {
  // A uid without a passwd entry has no usable home: give it one inside the working copy.
  let home = user.home;
  if (!user.known) {
    home = path.join(workingCopy, "home");
    fs.mkdirSync(home, { mode: 0o700 });
    fs.chownSync(home, user.uid, user.gid);
  }
  const env = userEnvironment(process.env, user, home);
  env.CLAUDE_CONFIG_DIR = workingCopy;
  if (capture.longLivedToken) env.CLAUDE_CODE_OAUTH_TOKEN = capture.longLivedToken;
  return env;
}
