import { formatArg } from "../docker-cli/format";
import { boolArg, type CommandSpec } from "../docker-cli/spec";

// The implementation is loaded when the command runs: other commands start faster.
export const versionCommand: CommandSpec = {
  path: ["version"],
  usage: "[OPTIONS]",
  summary: "Show the docker claudeauth version information",
  options: [
    { name: "short", type: "boolean", description: "Print only the version number" },
    { name: "format", short: "f", type: "string", placeholder: "string", description: 'Format output: "pretty" (default), "json", or a template, e.g. "{{.Version}}"', complete: ["pretty", "json"] },
    { name: "json", type: "boolean", description: "Same as --format json", hidden: true },
  ],
  run: async (args) =>
    (await import("../services/version")).version({ short: boolArg(args, "short"), format: formatArg(args, "version") }),
};
