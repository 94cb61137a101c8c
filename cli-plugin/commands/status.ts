import { FORMAT_OPTIONS, formatArg } from "../docker-cli/format";
import { boolArg, OLD_VOLUME_OPTION, STORE_OPTIONS, storeSelection, type CommandSpec } from "../docker-cli/spec";

// The implementation is loaded when the command runs: other commands start faster.
export const statusCommand: CommandSpec = {
  path: ["status"],
  usage: "[OPTIONS]",
  summary: "Show a profile's login: validity, token expiry, mode, last capture, file modes",
  description: `Reads the store on this machine (no container for host directories). Exit code 0 when a
run would work (an expired access token that the refresh token renews is only a note), 1 when
it would not (not set up, not logged in, invalid, or no way to renew the token): for monitors.`,
  options: [
    ...STORE_OPTIONS,
    { name: "all", short: "a", type: "boolean", description: "Show every profile under the hub directory" },
    ...FORMAT_OPTIONS,
    { name: "quiet", short: "q", type: "boolean", description: "Print nothing: the exit code says whether a run would work" },
    { name: "no-files", type: "boolean", description: "Leave out the list of files and their modes" },
    OLD_VOLUME_OPTION,
  ],
  run: async (args, { docker }) =>
    (await import("../services/status")).status(
      { selection: storeSelection(args, "status"), all: boolArg(args, "all"), format: formatArg(args, "status"), quiet: boolArg(args, "quiet"), files: !boolArg(args, "no-files") },
      docker,
    ),
};
