import { parseDuration } from "../../core/duration";
import { FORMAT_OPTIONS, formatArg } from "../docker-cli/format";
import { arrayArg, boolArg, CONTAINER_OPTIONS, hardeningArg, STORE_OPTIONS, storeSelection, stringArg, envArgs, volumeArgs, type CommandSpec } from "../docker-cli/spec";

// The implementation is loaded when the command runs: other commands start faster.
export const testCommand: CommandSpec = {
  path: ["test"],
  usage: "[OPTIONS]",
  summary: "Check the login for real: one cheap request to the API from a production container",
  description: `Runs "claude -p test --no-session-persistence --output-format json" with retries off and
says which of ok / token rejected / not logged in / network unreachable it is, with the next step.`,
  options: [
    ...STORE_OPTIONS,
    { name: "network", type: "string", placeholder: "string", description: "Network of the container (as docker run --network)" },
    { name: "env", short: "e", type: "string", array: true, placeholder: "list", description: "Set environment variables (e.g. -e HTTPS_PROXY)" },
    { name: "timeout", type: "string", placeholder: "duration", description: "Give up after this long", default: "90s" },
    { name: "image", type: "string", placeholder: "string", description: "Production image to use (default claudeauth/run:VERSION)" },
    ...FORMAT_OPTIONS,
    { name: "quiet", short: "q", type: "boolean", description: "Print nothing: the exit code says whether the login works" },
    ...CONTAINER_OPTIONS,
  ],
  run: async (args, { docker }) =>
    (await import("../services/test")).check(
      {
        selection: storeSelection(args, "test"),
        network: stringArg(args, "network"),
        image: stringArg(args, "image"),
        env: envArgs(args),
        volumes: volumeArgs(args, "test"),
        mounts: arrayArg(args, "mount"),
        hardening: hardeningArg(args, "test"),
        timeoutMs: parseDuration(stringArg(args, "timeout") ?? "90s"),
        format: formatArg(args, "test"),
        quiet: boolArg(args, "quiet"),
      },
      docker,
    ),
};
