import { arrayArg, boolArg, CONTAINER_OPTIONS, hardeningArg, passthroughCommand, STORE_OPTIONS, storeSelection, stringArg, envArgs, volumeArgs, type CommandSpec } from "../docker-cli/spec";

// The implementation is loaded when the command runs: other commands start faster.
export const runCommand: CommandSpec = {
  path: ["run"],
  usage: "[OPTIONS] [COMMAND [ARG...]]",
  summary: "Run the Claude CLI (or COMMAND) in the production image, logged in",
  description: `The current directory (or --workdir) is mounted at /workspace; the workload runs with
your uid/gid (when you are root: the workspace owner's; see --user), never as root. The login
comes from the profile's store, which the entrypoint keeps fresh; a login made inside the run is dropped unless --allow-login (same account only) or
--allow-other-account says to keep it. No token is ever put on the docker command line.
The container is hardened (see --no-harden); a workspace or mount that holds the store is refused.`,
  passthrough: true,
  options: [
    ...STORE_OPTIONS,
    { name: "workdir", short: "w", type: "string", placeholder: "string", description: "Directory to mount at /workspace (default: the current directory)", complete: "files" },
    { name: "no-workspace", type: "boolean", description: "Do not mount a workspace" },
    { name: "user", short: "u", type: "string", placeholder: "string", description: "Run the workload with these ids, UID[:GID] (default: yours; as root, the workspace owner's)" },
    { name: "env", short: "e", type: "string", array: true, placeholder: "list", description: "Set environment variables (NAME=VALUE, or NAME to pass yours)" },
    { name: "network", type: "string", placeholder: "string", description: "Connect the container to a network (as docker run --network)" },
    { name: "name", type: "string", placeholder: "string", description: "Container name (default claudeauth-run-PROFILE-XXXXXX)" },
    { name: "image", type: "string", placeholder: "string", description: "Production image to use (default claudeauth/run:VERSION)" },
    { name: "no-tty", type: "boolean", description: "Do not allocate a terminal even when stdin is one" },
    { name: "allow-login", type: "boolean", description: "Keep a login made inside the run if it is the store's account" },
    { name: "allow-other-account", type: "boolean", description: "Keep a login made inside the run whatever its account" },
    ...CONTAINER_OPTIONS,
  ],
  examples: ["docker claudeauth run", 'docker claudeauth run claude -p "summarize README.md"', "docker claudeauth run --profile staging -e HTTPS_PROXY claude", "docker claudeauth run -v \"$PWD/../data:/data:ro\" claude"],
  run: async (args, { docker }) =>
    (await import("../services/run")).run(
      {
        selection: storeSelection(args, "run"),
        command: passthroughCommand(args),
        workdir: stringArg(args, "workdir"),
        noWorkspace: boolArg(args, "no-workspace"),
        volumes: volumeArgs(args, "run"),
        mounts: arrayArg(args, "mount"),
        hardening: hardeningArg(args, "run"),
        env: envArgs(args),
        network: stringArg(args, "network"),
        image: stringArg(args, "image"),
        name: stringArg(args, "name"),
        noTty: boolArg(args, "no-tty"),
        user: stringArg(args, "user"),
        allowLogin: boolArg(args, "allow-other-account") ? "any-account" : boolArg(args, "allow-login") ? "1" : undefined,
      },
      docker,
    ),
};
