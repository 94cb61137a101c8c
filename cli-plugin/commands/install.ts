import { boolArg, stringArg, type CommandSpec } from "../docker-cli/spec";

// The implementation is loaded when the command runs: other commands start faster.
export const installCommand: CommandSpec = {
  path: ["install"],
  usage: "[OPTIONS]",
  summary: "Install this binary as a Docker CLI plugin ($DOCKER_CONFIG/cli-plugins or ~/.docker/cli-plugins)",
  options: [
    { name: "dir", type: "string", placeholder: "string", description: "Install into this directory instead", complete: "files" },
    {
      name: "single-executable",
      type: "boolean",
      description: "npm package: make a single executable from this Node instead of a launcher script (always so on Windows)",
    },
  ],
  run: async (args, { invocation }) =>
    (await import("../services/install")).install({
      configDir: invocation.configDir,
      dir: stringArg(args, "dir"),
      singleExecutable: boolArg(args, "single-executable"),
    }),
};
