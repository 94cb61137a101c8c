import { boolArg, STORE_OPTIONS, storeSelection, stringArg, type CommandSpec, type GroupSpec } from "../docker-cli/spec";

// The implementation is loaded when the command runs: other commands start faster.
export const swarmSecretCommand: CommandSpec = {
  path: ["swarm", "secret"],
  usage: "[OPTIONS] [--rotate SERVICE...]",
  summary: "Make a Docker Swarm secret of the profile's login for services; move services to it",
  description: `Run against a Swarm manager. Creates the secret NAME-GENERATION (default NAME claudeauth-PROFILE)
from the store's current capture, labelled, unless it exists, and says how to use it. Services read
it as a read-only store: a long-lived token (setup --long-lived) is the supported mode; an OAuth
login goes in without its refresh token and lasts as long as its access token, so renew it from a
manager's cron with refresh and --rotate. --rotate moves the services to this version (same target).`,
  positionals: { min: 0, max: 64 },
  options: [
    ...STORE_OPTIONS,
    { name: "name", type: "string", placeholder: "string", description: 'Name of the secret before "-GENERATION" (default "claudeauth-PROFILE")' },
    { name: "rotate", type: "boolean", description: "Move the services named after the options to this version (--secret-rm/--secret-add, same target)" },
    { name: "prune", type: "boolean", description: "Remove the older versions of the secret that no service uses" },
    {
      name: "include-refresh-token",
      type: "boolean",
      description: "Put the OAuth refresh token into the secret too (not recommended: services still never refresh, see the README)",
    },
  ],
  examples: [
    "docker claudeauth swarm secret",
    "docker claudeauth swarm secret --rotate web worker --prune",
    "docker claudeauth refresh --if-expiring-within 2h && docker claudeauth swarm secret --rotate web --prune   # cron, OAuth logins",
  ],
  run: async (args, { docker }) =>
    (await import("../services/swarm")).swarmSecret(
      {
        selection: storeSelection(args, "swarm secret"),
        name: stringArg(args, "name"),
        rotate: boolArg(args, "rotate"),
        services: args._.map(String),
        prune: boolArg(args, "prune"),
        includeRefreshToken: boolArg(args, "include-refresh-token"),
      },
      docker,
    ),
};

export const swarmGroup: GroupSpec = { name: "swarm", summary: "Use the login in Docker Swarm services", commands: [swarmSecretCommand] };
