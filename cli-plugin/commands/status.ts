import { boolArg, STORE_OPTIONS, storeSelection, type CommandSpec } from "../docker-cli/spec";

// The implementation is loaded when the command runs: other commands start faster.
export const statusCommand: CommandSpec = {
  path: ["status"],
  usage: "[OPTIONS]",
  summary: "Show a profile's login: validity, token expiry, mode, last capture, file modes",
  description: "Reads the store on this machine (no container for host directories). Exit code 0 when healthy, 1 when missing, invalid or expired.",
  options: [
    ...STORE_OPTIONS,
    { name: "all", short: "a", type: "boolean", description: "Show every profile under the hub directory" },
    { name: "json", type: "boolean", description: "Print JSON (for monitoring)" },
    { name: "no-files", type: "boolean", description: "Leave out the list of files and their modes" },
  ],
  run: async (args, { docker }) =>
    (await import("../services/status")).status({ selection: storeSelection(args), all: boolArg(args, "all"), json: boolArg(args, "json"), files: !boolArg(args, "no-files") }, docker),
};
