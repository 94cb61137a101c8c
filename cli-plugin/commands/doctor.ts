import { FORMAT_OPTIONS, formatArg } from "../docker-cli/format";
import { boolArg, OLD_VOLUME_OPTION, STORE_OPTIONS, storeSelection, type CommandSpec } from "../docker-cli/spec";

// The implementation is loaded when the command runs: other commands start faster.
export const doctorCommand: CommandSpec = {
  path: ["doctor"],
  usage: "[OPTIONS]",
  summary: "Diagnose Docker, the plugin, the images, a profile's store and clocks; say how to fix each finding",
  options: [
    ...STORE_OPTIONS,
    ...FORMAT_OPTIONS,
    { name: "quiet", short: "q", type: "boolean", description: "Print only the problems and warnings" },
    OLD_VOLUME_OPTION,
  ],
  run: async (args, { docker, invocation }) =>
    (await import("../services/doctor")).doctor(
      { selection: storeSelection(args, "doctor"), format: formatArg(args, "doctor"), quiet: boolArg(args, "quiet"), configDir: invocation.configDir },
      docker,
    ),
};
