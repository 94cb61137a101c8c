import { configureOutput, log, print } from "../core/output";
import { configureLocks } from "../core/lock";
import { UserError, errorMessage } from "../core/errors";
import { formatRelative } from "../core/duration";
import { parseOptions, type Options } from "./options";
import { setupMode } from "./setup";
import { runMode } from "./run";
import { healthMode } from "./health";
import { ensureFresh } from "./refresh";
import { openStore } from "./owner";
import { refuseSwarmSecret, swarmSecretFile } from "./swarm-secret";

// claudeauth-entrypoint: runs under `tini -g` in the setup and production images.

const MODES: Record<Options["mode"], (options: Options) => number | Promise<number>> = {
  setup: setupMode,
  run: runMode,
  health: healthMode,
  refresh: refreshMode,
};

async function refreshMode(options: Options): Promise<number> {
  const store = openStore(options.store, options.owner);
  const capture = await ensureFresh(store, options, options.refreshMarginMs);
  if (!capture) throw new UserError(`not logged in: the store at ${options.store} holds no capture; run "docker claudeauth setup" first`);
  const expiresAt = capture.credentials?.claudeAiOauth.expiresAt;
  print(expiresAt ? `access token valid, expires ${formatRelative(expiresAt - Date.now())} (capture ${capture.generation})` : "long-lived token: nothing to refresh");
  return 0;
}

async function main(argv: string[]): Promise<number> {
  configureOutput({ prefix: "claudeauth: " });
  try {
    const options = parseOptions(argv);
    configureLocks({ staleMs: options.lockStaleMs });
    const secret = options.mode === "setup" || options.mode === "refresh" ? swarmSecretFile(options.store) : null;
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
main(process.argv.slice(2)).then((code) => process.exit(code));
