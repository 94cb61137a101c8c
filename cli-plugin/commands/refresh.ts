import { arrayArg, boolArg, CONTAINER_OPTIONS, hardeningArg, STORE_OPTIONS, storeSelection, stringArg, envArgs, volumeArgs, type CommandSpec } from "../docker-cli/spec";

// The implementation is loaded when the command runs: other commands start faster.
export const refreshCommand: CommandSpec = {
  path: ["refresh"],
  usage: "[OPTIONS]",
  summary: "Renew the access token in the store now (for cron and systemd timers)",
  description: `Spends the refresh token once, under the store lock, and stores the rotated pair; runs in
progress keep working. With --if-expiring-within, does nothing while the token lives longer.`,
  options: [
    ...STORE_OPTIONS,
    { name: "if-expiring-within", type: "string", placeholder: "duration", description: "Refresh only if the access token expires within this long (e.g. 1h)" },
    { name: "network", type: "string", placeholder: "string", description: "Network of the container (as docker run --network)" },
    { name: "env", short: "e", type: "string", array: true, placeholder: "list", description: "Set environment variables (e.g. -e HTTPS_PROXY)" },
    { name: "quiet", short: "q", type: "boolean", description: "Print nothing but errors (for cron)" },
    { name: "image", type: "string", placeholder: "string", description: "Production image to use (default claudeauth/run:VERSION)" },
    ...CONTAINER_OPTIONS,
  ],
  examples: ["docker claudeauth refresh", "docker claudeauth refresh --if-expiring-within 2h   # every 30 minutes from cron"],
  run: async (args, { docker }) =>
    (await import("../services/refresh")).refresh(
      {
        selection: storeSelection(args, "refresh"),
        ifExpiringWithin: stringArg(args, "if-expiring-within"),
        network: stringArg(args, "network"),
        image: stringArg(args, "image"),
        env: envArgs(args),
        volumes: volumeArgs(args, "refresh"),
        quiet: boolArg(args, "quiet"),
        mounts: arrayArg(args, "mount"),
        hardening: hardeningArg(args, "refresh"),
      },
      docker,
    ),
};
