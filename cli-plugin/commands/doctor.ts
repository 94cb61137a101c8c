import { boolArg, STORE_OPTIONS, storeSelection, type CommandSpec } from "../docker-cli/spec";

// The implementation is loaded when the command runs: other commands start faster.
export const doctorCommand: CommandSpec = {
  path: ["doctor"],
  usage: "[OPTIONS]",
  summary: "Diagnose Docker, the plugin, the images, a profile's store and clocks; say how to fix each finding",
  options: [...STORE_OPTIONS, { name: "json", type: "boolean", description: "Print JSON" }],
  run: async (args, { docker, invocation }) =>
    (await import("../services/doctor")).doctor({ selection: storeSelection(args), json: boolArg(args, "json"), configDir: invocation.configDir }, docker),
};
