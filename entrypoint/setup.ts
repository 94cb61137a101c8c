import fs from "node:fs";
import path from "node:path";
import { CLAUDE_JSON_FILE, USER_CONFIG_ENTRIES, cliPaths } from "../core/layout";
import { serializeJson, withoutRefreshToken } from "../core/credentials";
import { lstatOrNull, writeNewFile, type Owner } from "../core/safe-fs";
import { copyEntry } from "../core/safe-copy";
import { readCurrentIfValid, type Capture, type Store } from "../core/store";
import { log } from "../core/output";
import { UserError } from "../core/errors";
import { HomeCapturer, type Seed } from "./capture";
import { relaySignals, startWorkload } from "./child";
import { captureTokenFromStdin } from "./long-lived";
import { openStore } from "./open-store";
import { ensureFresh, RefreshRejectedError } from "../core/refresh";
import { entrypointRefresher } from "./audit";
import { userEnvironment } from "./privileges";
import { claimTmpfsHome, resolveUser } from "./user";
import { serialQueue, watchFiles } from "./watch";
import type { Options } from "./options";

// Setup mode: the user logs in with the real CLI; every time its credentials appear or
// change, and once more when it exits or a signal arrives, the auth state is captured.
export async function setupMode(options: Options): Promise<number> {
  const store = openStore(options.store, options.owner, options);
  await store.ensure();
  if (options.tokenStdin) return captureTokenFromStdin(store);

  const user = resolveUser(options.user, options);
  claimTmpfsHome(user);
  const configDir = process.env.CLAUDE_CONFIG_DIR || undefined;
  const paths = cliPaths(user.home, configDir);
  const seed = seedHome(await liveCapture(store, options), paths, { uid: user.uid, gid: user.gid });

  const env = userEnvironment(process.env, user, user.home);

  const capturer = new HomeCapturer(store, user.home, configDir, seed);
  const captures = serialQueue();
  const quiet = Boolean(process.stderr.isTTY); // the login's UI owns the terminal until it exits
  const captureSoon = (reason: string, force = false) =>
    captures.push(() => capturer.capture(reason, { force, quiet: quiet && !force })).catch(reportFailure);
  const watcher = watchFiles([paths.credentials, paths.claudeJson], () => void captureSoon("credentials changed"));

  const workload = startWorkload(options.command, user, env);
  const stopRelay = relaySignals(workload.child, (signal) => void captureSoon(`received ${signal}`));
  const outcome = await workload.done;
  stopRelay();
  watcher.stop();
  await captures.idle();
  const final = await captureSoon("login command exited", true);
  // The command succeeded but left no usable login: say so through the exit code too.
  if (outcome.code === 0 && (!final || final.status === "invalid")) return 1;
  return outcome.code;
}

/**
 * The store's current capture, renewed first if its access token is due: the login is handed
 * an access token only (below), so it must be one that still works for the session.
 */
async function liveCapture(store: Store, options: Options): Promise<Capture | null> {
  try {
    return await ensureFresh(store, options, options.refreshMarginMs, entrypointRefresher());
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    const why = error instanceof RefreshRejectedError ? "the token endpoint rejected the store's refresh token" : error.message;
    log.warn(`could not renew the store's access token before the login (${why}): if the CLI asks, log in again in this session (/login in claude)`);
    // A store whose captures all fail to read is where a fresh login starts, not a dead end.
    return readCurrentIfValid(store);
  }
}

/**
 * Starts the login from the last capture, so a second setup keeps what the first one did.
 * The CLI gets the access token but never the refresh token: it would spend it outside the
 * store lock, racing every run and `refresh` (the CLI uses such a file as is and never
 * refreshes it). Returns what was seeded, for the captures to tell a new login from it.
 */
function seedHome(capture: Capture | null, paths: ReturnType<typeof cliPaths>, owner: Owner): Seed {
  ensureUserDir(paths.configDir, owner);
  if (!capture) return { generation: null, oauth: null };
  if (capture.credentials && !lstatOrNull(paths.credentials)) {
    writeNewFile(paths.credentials, serializeJson(withoutRefreshToken(capture.credentials)), owner);
  }
  const seed = (from: string, to: string) => {
    if (!lstatOrNull(to)) copyEntry(path.join(capture.dir, from), to, { owner });
  };
  seed(CLAUDE_JSON_FILE, paths.claudeJson);
  for (const entry of USER_CONFIG_ENTRIES) seed(entry, path.join(paths.configDir, entry));
  return { generation: capture.generation, oauth: capture.credentials?.claudeAiOauth ?? null };
}

function ensureUserDir(dir: string, owner: Owner): void {
  // Root must not follow a link planted here: chown and every later capture would act on its target.
  if (lstatOrNull(dir)?.isSymbolicLink()) throw new UserError(`${dir} is a symlink (not followed): make it a real directory in the setup home`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.lchownSync(dir, owner.uid, owner.gid);
}

function reportFailure(error: unknown): void {
  log.error(`capture failed: ${error instanceof Error ? error.message : String(error)}; the earlier capture is kept`);
}
