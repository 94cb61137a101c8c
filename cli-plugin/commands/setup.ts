import { arrayArg, boolArg, CONTAINER_OPTIONS, hardeningArg, passthroughCommand, STORE_OPTIONS, storeSelection, stringArg, envArgs, volumeArgs, type CommandSpec } from "../docker-cli/spec";

// The implementation is loaded when the command runs: other commands start faster.
export const setupCommand: CommandSpec = {
  path: ["setup"],
  aliases: ["login"],
  usage: "[OPTIONS] [COMMAND [ARG...]]",
  summary: "Log in once in the setup image and capture the login into the profile's store",
  description: `Runs "claude" (or COMMAND) in the setup image with the store mounted; when the CLI has
logged in and exits (or on Ctrl-C / docker stop), its login is captured into the store.
Builds the setup image first if it is missing. Needs a terminal, unless --no-tty is given
with a scripted login COMMAND.`,
  passthrough: true,
  options: [
    ...STORE_OPTIONS,
    { name: "long-lived", type: "boolean", description: 'Run "claude setup-token" and store the long-lived token it prints (no refresh needed)' },
    { name: "token-stdin", type: "boolean", description: "Read a long-lived token (from claude setup-token) from stdin and store it; no container" },
    { name: "from", type: "string", placeholder: "path", description: 'Import an existing login: a ~/.claude directory, a copy of it, a credentials JSON file, or "-" for stdin; no container for a host store', complete: "files" },
    { name: "move", type: "boolean", description: "With --from: blank the source's refresh token after the import, so only the store renews the login" },
    { name: "no-tty", type: "boolean", description: "Do not allocate a terminal (for a scripted login COMMAND)" },
    { name: "network", type: "string", placeholder: "string", description: "Network of the setup container (default: Docker's default; the login needs the internet)" },
    { name: "env", short: "e", type: "string", array: true, placeholder: "list", description: "Set environment variables in the container (NAME=VALUE, or NAME to pass yours)" },
    { name: "image", type: "string", placeholder: "string", description: "Setup image to use (default claudeauth/setup:VERSION)" },
    ...CONTAINER_OPTIONS,
  ],
  examples: [
    "docker claudeauth setup",
    "docker claudeauth setup --profile staging",
    "docker claudeauth setup --long-lived",
    "docker claudeauth setup --token-stdin < token.txt",
    "docker claudeauth setup --from ~/.claude --move",
    'security find-generic-password -s "Claude Code-credentials" -w | docker claudeauth setup --from -',
  ],
  run: async (args, { docker }) =>
    (await import("../services/setup")).setup(
      {
        selection: storeSelection(args, "setup"),
        command: passthroughCommand(args),
        noTty: boolArg(args, "no-tty"),
        network: stringArg(args, "network"),
        longLived: boolArg(args, "long-lived"),
        tokenStdin: boolArg(args, "token-stdin"),
        from: stringArg(args, "from"),
        move: boolArg(args, "move"),
        image: stringArg(args, "image"),
        caCert: stringArg(args, "ca-cert"),
        env: envArgs(args),
        volumes: volumeArgs(args, "setup"),
        mounts: arrayArg(args, "mount"),
        hardening: hardeningArg(args, "setup"),
      },
      docker,
    ),
};
