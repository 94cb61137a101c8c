import { arrayArg, boolArg, stringArg, UsageError, type CommandSpec } from "../docker-cli/spec";

// The implementation is loaded when the command runs: other commands start faster.
export const buildCommand: CommandSpec = {
  path: ["build"],
  usage: "[OPTIONS]",
  summary: "Build the setup, production and entrypoint images from the files inside this plugin",
  description: "Needs no checkout: the Dockerfiles and the entrypoint travel inside the plugin binary.",
  options: [
    { name: "ca-cert", type: "string", placeholder: "string", description: "CA certificate (PEM) to trust during the build, for TLS-intercepting proxies", complete: "files" },
    { name: "build-arg", type: "string", array: true, placeholder: "list", description: "Set build-time variables (BASE_IMAGE, CLAUDE_CODE_VERSION, RUNTIME_UID)" },
    { name: "only", type: "string", placeholder: "string", description: 'Build one image: "setup", "run" or "entrypoint"', complete: ["setup", "run", "entrypoint"] },
    { name: "network", type: "string", placeholder: "string", description: 'Network for RUN instructions during the build (default: the builder\'s; "host" where the bridge cannot reach the internet)' },
    { name: "no-cache", type: "boolean", description: "Do not use cache when building the images" },
    { name: "quiet", short: "q", type: "boolean", description: "Print nothing but errors" },
    { name: "if-changed", type: "boolean", description: "Skip images that already carry this plugin's version and entrypoint (build arguments are not compared)" },
    { name: "platform", type: "string", array: true, placeholder: "list", description: "Build for linux/amd64 and/or linux/arm64 (default: the engine's architecture; another one is tagged VERSION-ARCH)" },
    { name: "check", type: "boolean", description: "Build nothing: exit 0 if every image is current, 1 if one would be built" },
  ],
  run: async (args, { docker }) => {
    const only = stringArg(args, "only");
    if (only !== undefined && only !== "setup" && only !== "run" && only !== "entrypoint") {
      throw new UsageError(`--only must be "setup", "run" or "entrypoint", not "${only}"`, "docker claudeauth build");
    }
    return (await import("../services/build")).buildImages(docker, {
      only,
      caCert: stringArg(args, "ca-cert"),
      buildArgs: arrayArg(args, "build-arg"),
      network: stringArg(args, "network"),
      noCache: boolArg(args, "no-cache"),
      quiet: boolArg(args, "quiet"),
      ifChanged: boolArg(args, "if-changed"),
      check: boolArg(args, "check"),
      platforms: arrayArg(args, "platform").flatMap((p) => p.split(",")),
    });
  },
};
