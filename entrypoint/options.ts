import fs from "node:fs";
import os from "node:os";
import { DEFAULT_STORE_IN_CONTAINER } from "../core/layout";
import { UserError } from "../core/errors";
import { parseDuration } from "../core/duration";
import { tokenEndpointFromEnv } from "../core/refresh";

// Flags win over environment variables, which win over defaults. Everything after "--"
// is the command to run.

export type Mode = "setup" | "run" | "health" | "refresh" | "inspect" | "import" | "logout" | "swarm-secret";

/** Which login made inside a run may replace the store's: none (the default), the same account's, any. */
export type LoginPolicy = "none" | "same-account" | "any-account";

export type Options = {
  mode: Mode;
  store: string;
  /** The plugin's channel (a unix socket), for a store kept by a credential helper. */
  channel: string | undefined;
  user: string;
  owner: string | undefined; // "uid:gid" of the host user who owns the store
  uid: number | undefined; // run the workload as this uid instead of the user's
  gid: number | undefined;
  workDir: string;
  trustDir: string;
  refreshMarginMs: number;
  supervise: boolean;
  allowLogin: LoginPolicy;
  profileUrl: string;
  minValidityMs: number;
  lockStaleMs: number;
  tokenUrl: string;
  clientId: string;
  scope: string;
  tokenStdin: boolean;
  includeRefreshToken: boolean;
  command: string[];
};

export const USAGE = `Usage: claudeauth-entrypoint MODE [OPTIONS] [--] [COMMAND [ARG...]]

Modes:
  setup    run the login command (default: claude) and capture its auth state into the store
  run      run COMMAND (default: claude) as the runtime user with a private working copy of the store
  health   exit 0 if the store holds usable credentials, 1 if not (for HEALTHCHECK)
  refresh  refresh the access token in the store now if it expires within --refresh-margin
  inspect  print what the store holds as JSON (never a token), for docker claudeauth status
  import   commit the login given as JSON on stdin (docker claudeauth setup --from), by compare-and-swap
  logout   remove the store's login, keeping its settings (docker claudeauth logout)
  swarm-secret  print the current capture's auth files as JSON for a Swarm secret (docker claudeauth swarm secret);
           without the refresh token unless --include-refresh-token

Options (environment variable in brackets):
  --store DIR            store path, or helper:NAME [CLAUDEAUTH_STORE] (default ${DEFAULT_STORE_IN_CONTAINER})
  --channel SOCKET       helper:NAME stores: the plugin's socket [CLAUDEAUTH_CHANNEL] (docker claudeauth sets it)
  --user NAME            runtime user [CLAUDEAUTH_USER] (default claude)
  --owner UID:GID        owner of store files [CLAUDEAUTH_OWNER] (default: the store dir's owner)
  --uid UID --gid GID    run the workload with these ids [CLAUDEAUTH_UID, CLAUDEAUTH_GID]
  --work-dir DIR         where run working copies go [CLAUDEAUTH_WORK_DIR] (default /dev/shm, a tmpfs)
  --trust DIR            directory the CLI should trust [CLAUDEAUTH_TRUST_DIR] (default: the working dir)
  --refresh-margin DUR   refresh when the token expires within DUR [CLAUDEAUTH_REFRESH_MARGIN] (default 15m)
  --token-stdin          setup: store the long-lived token given on stdin instead of running a command
  --include-refresh-token  swarm-secret: keep the refresh token in what it prints
  --no-supervise         exec the workload; do not stay to keep its token fresh [CLAUDEAUTH_SUPERVISE=0]
  --allow-login          run: keep a login the workload makes, if it is the store's account [CLAUDEAUTH_ALLOW_LOGIN=1]
  --allow-other-account  run: keep it whatever its account [CLAUDEAUTH_ALLOW_LOGIN=any-account]
  --lock-stale DUR       a store lock whose holder shows no sign of life for DUR is taken over [CLAUDEAUTH_LOCK_STALE] (default 30s)
  --min-validity DUR     health: unhealthy when the token expires within DUR [CLAUDEAUTH_MIN_VALIDITY] (default 0s)
  --token-url URL        OAuth token endpoint [CLAUDEAUTH_TOKEN_URL]
  --client-id ID         OAuth client id [CLAUDEAUTH_CLIENT_ID]
  --profile-url URL      OAuth profile endpoint, to tell a login's account [CLAUDEAUTH_PROFILE_URL]
`;

export const DEFAULT_PROFILE_URL = "https://api.anthropic.com/api/oauth/profile";

const MODES: readonly Mode[] = ["setup", "run", "health", "refresh", "inspect", "import", "logout", "swarm-secret"];
const BOOLEAN_FLAGS = new Set(["--no-supervise", "--token-stdin", "--allow-login", "--allow-other-account", "--include-refresh-token"]);
const VALUE_FLAGS = new Set([
  "--store", "--channel", "--user", "--owner", "--uid", "--gid", "--work-dir", "--trust", "--refresh-margin", "--min-validity", "--lock-stale", "--token-url", "--client-id",
  "--profile-url",
]);

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): Options {
  const [mode, ...rest] = argv;
  if (!mode || mode === "--help" || mode === "-h") throw new UserError(USAGE.trimEnd(), 0);
  if (!MODES.includes(mode as Mode)) throw new UserError(`unknown mode "${mode}": use one of ${MODES.join(", ")}`, 125);

  const flags = new Map<string, string>();
  let command: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (arg === "--") {
      command = rest.slice(i + 1);
      break;
    }
    if (BOOLEAN_FLAGS.has(arg)) flags.set(arg, "1");
    else if (VALUE_FLAGS.has(arg.split("=")[0]!)) {
      const [name, inline] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, rest[++i]];
      if (inline === undefined) throw new UserError(`${name} needs a value (see --help)`, 125);
      flags.set(name, inline);
    } else if (arg.startsWith("-")) throw new UserError(`unknown option "${arg}" (see claudeauth-entrypoint --help)`, 125);
    else {
      command = rest.slice(i);
      break;
    }
  }
  const pick = (flag: string, envName: string, fallback: string): string => flags.get(flag) ?? (env[envName] || fallback);
  const optionalId = (flag: string, envName: string): number | undefined => {
    const text = flags.get(flag) ?? env[envName];
    if (!text) return undefined;
    if (!/^\d+$/.test(text)) throw new UserError(`${flag} must be a numeric id, got "${text}"`, 125);
    return Number(text);
  };

  const endpoint = tokenEndpointFromEnv(env);
  return {
    mode: mode as Mode,
    store: pick("--store", "CLAUDEAUTH_STORE", DEFAULT_STORE_IN_CONTAINER),
    channel: flags.get("--channel") ?? (env.CLAUDEAUTH_CHANNEL || undefined),
    user: pick("--user", "CLAUDEAUTH_USER", "claude"),
    owner: flags.get("--owner") ?? env.CLAUDEAUTH_OWNER ?? undefined,
    uid: optionalId("--uid", "CLAUDEAUTH_UID"),
    gid: optionalId("--gid", "CLAUDEAUTH_GID"),
    workDir: pick("--work-dir", "CLAUDEAUTH_WORK_DIR", defaultWorkDir()),
    trustDir: pick("--trust", "CLAUDEAUTH_TRUST_DIR", process.cwd()),
    refreshMarginMs: parseDuration(pick("--refresh-margin", "CLAUDEAUTH_REFRESH_MARGIN", "15m")),
    supervise: !flags.has("--no-supervise") && env.CLAUDEAUTH_SUPERVISE !== "0",
    minValidityMs: parseDuration(pick("--min-validity", "CLAUDEAUTH_MIN_VALIDITY", "0s")),
    lockStaleMs: parseDuration(pick("--lock-stale", "CLAUDEAUTH_LOCK_STALE", "30s")),
    tokenUrl: flags.get("--token-url") ?? endpoint.tokenUrl,
    clientId: flags.get("--client-id") ?? endpoint.clientId,
    profileUrl: pick("--profile-url", "CLAUDEAUTH_PROFILE_URL", DEFAULT_PROFILE_URL),
    allowLogin: loginPolicy(flags, env.CLAUDEAUTH_ALLOW_LOGIN),
    scope: endpoint.scope,
    tokenStdin: flags.has("--token-stdin"),
    includeRefreshToken: flags.has("--include-refresh-token"),
    command: command.length > 0 ? command : ["claude"],
  };
}

function loginPolicy(flags: Map<string, string>, value: string | undefined): LoginPolicy {
  if (flags.has("--allow-other-account") || value === "any-account") return "any-account";
  if (flags.has("--allow-login") || value === "1") return "same-account";
  if (!value || value === "0") return "none";
  throw new UserError(`CLAUDEAUTH_ALLOW_LOGIN must be 0, 1 or any-account, got "${value}"`, 125);
}

// /dev/shm is a tmpfs in every container, so a working copy never touches a disk.
function defaultWorkDir(): string {
  try {
    fs.accessSync("/dev/shm", fs.constants.W_OK);
    return "/dev/shm";
  } catch {
    return os.tmpdir();
  }
}
