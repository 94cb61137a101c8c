import { configureOutput, log, print } from "../core/output";
import { configureLocks } from "../core/lock";
import { UserError, errorMessage } from "../core/errors";
import { formatRelative } from "../core/duration";
import { parseOptions, type Options } from "./options";
import { setupMode } from "./setup";
import { runMode } from "./run";
import { healthMode } from "./health";
import { ensureFresh } from "../core/refresh";
import { openStore } from "./open-store";
import { notLoggedIn } from "./run";
import { reportStore } from "../core/store-report";
import { importMode, logoutMode } from "./login";
import { containerIdentity, entrypointRefresher, recordEvent } from "./audit";
import { refuseSwarmSecret, swarmSecretFile } from "./swarm-secret";
import { captureDirReader, swarmSecretFiles } from "../core/swarm-secret";

// claudeauth-entrypoint: runs under `tini -g` in the setup and production images.

const MODES: Record<Options["mode"], (options: Options) => number | Promise<number>> = {
  setup: setupMode,
  run: runMode,
  health: healthMode,
  refresh: refreshMode,
  inspect: inspectMode,
  import: importMode,
  logout: logoutMode,
  "swarm-secret": swarmSecretMode,
};

/** The store's report as one line of JSON on stdout: the plugin reads a volume's store through it. */
async function inspectMode(options: Options): Promise<number> {
  print(JSON.stringify(await reportStore(openStore(options.store, options.owner, options))));
  return 0;
}

/**
 * The current capture's auth files as one line of JSON on stdout, the one output that carries a
 * token: the plugin hands it straight to docker secret create's stdin (the container runs with
 * no network and no log driver), so it is never on a disk. Not through print, which redacts.
 */
async function swarmSecretMode(options: Options): Promise<number> {
  const store = openStore(options.store, options.owner, options);
  const capture = await store.readCurrent();
  if (!capture || capture.meta.mode === "logged-out") throw notLoggedIn(store);
  const line = JSON.stringify(swarmSecretFiles(capture, options.includeRefreshToken, captureDirReader(capture))) + "\n";
  await new Promise<void>((resolve, reject) => process.stdout.write(line, (error) => (error ? reject(error) : resolve())));
  return 0;
}

async function refreshMode(options: Options): Promise<number> {
  const store = openStore(options.store, options.owner, options);
  const capture = await ensureFresh(store, options, options.refreshMarginMs, entrypointRefresher());
  if (!capture || capture.meta.mode === "logged-out") throw notLoggedIn(store);
  const expiresAt = capture.credentials?.claudeAiOauth.expiresAt;
  print(expiresAt ? `access token valid, expires ${formatRelative(expiresAt - Date.now())} (capture ${capture.generation})` : "long-lived token: nothing to refresh");
  return 0;
}

async function main(argv: string[]): Promise<number> {
  configureOutput({ prefix: "claudeauth: " });
  try {
    const options = parseOptions(argv);
    configureLocks({
      staleMs: options.lockStaleMs,
      onBreak: (lockDir, holder) =>
        void recordEvent(openStore(options.store, options.owner, options), { kind: "lock-break", ...containerIdentity(), detail: `took over ${lockDir}: its holder (${holder}) showed no sign of life for ${options.lockStaleMs / 1000}s` }),
    });
    const secret = options.mode !== "run" && options.mode !== "health" ? swarmSecretFile(options.store) : null;
    if (secret) refuseSwarmSecret(secret, options.mode);
    return await MODES[options.mode](options);
  } catch (error) {
    if (error instanceof UserError) {
      if (error.exitCode === 0) print(error.message);
      else log.error(error.message);
      return error.exitCode;
    }
    log.error(`internal error: ${errorMessage(error)}`);
    return 1;
  }
}

// As a single executable argv is [binary, binary, ...args]; under plain node, [node, script, ...args].
void main(process.argv.slice(2)).then((code) => process.exit(code));
