import { boolArg, stringArg, type CommandSpec } from "../docker-cli/spec";

// The implementation is loaded when the command runs: other commands start faster.
export const versionCommand: CommandSpec = {
  path: ["version"],
  usage: "[OPTIONS]",
  summary: "Show the docker claudeauth version information",
  options: [
    { name: "short", type: "boolean", description: "Print only the version number" },
    { name: "format", short: "f", type: "string", placeholder: "string", description: 'Format the output: "pretty" or "json"', complete: ["pretty", "json"] },
  ],
  run: async (args) =>
    (await import("../services/version")).version({ short: boolArg(args, "short"), format: stringArg(args, "format") }),
};
