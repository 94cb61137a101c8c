import { FORMAT_OPTIONS, formatArg } from "../docker-cli/format";
import { boolArg, type CommandSpec } from "../docker-cli/spec";

// The implementation is loaded when the command runs: other commands start faster.
export const profileLsCommand: CommandSpec = {
  path: ["profile", "ls"],
  aliases: ["list"],
  usage: "[OPTIONS]",
  summary: "List profiles: host stores under the hub directory and labelled volumes",
  options: [
    ...FORMAT_OPTIONS,
    { name: "quiet", short: "q", type: "boolean", description: "Only print profile names" },
  ],
  run: async (args, { docker }) =>
    (await import("../services/profiles")).listProfiles({ format: formatArg(args, "profile ls"), quiet: boolArg(args, "quiet") }, docker),
};
