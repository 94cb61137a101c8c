import { arrayArg, boolArg, OLD_VOLUME_OPTION, storeSelection, type CommandSpec } from "../docker-cli/spec";

// The implementation is loaded when the command runs: other commands start faster.
export const profileRmCommand: CommandSpec = {
  path: ["profile", "rm"],
  aliases: ["remove"],
  usage: "[OPTIONS] PROFILE [PROFILE...]",
  summary: "Remove profiles and their stores (the login is gone for good)",
  positionals: { min: 0, max: 64, completeProfiles: true },
  options: [
    { name: "force", short: "f", type: "boolean", description: "Do not ask for confirmation" },
    { name: "store-volume", type: "string", array: true, placeholder: "list", description: "Remove this Docker volume store instead" },
    OLD_VOLUME_OPTION,
  ],
  run: async (args, { docker }) => {
    storeSelection(args, "profile rm"); // the old --volume NAME gets its pointer
    return (await import("../services/profiles")).removeProfiles({ profiles: args._.map(String), volumes: arrayArg(args, "store-volume"), force: boolArg(args, "force") }, docker);
  },
};
