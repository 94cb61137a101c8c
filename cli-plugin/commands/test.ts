import { parseDuration } from "../../core/duration";
import { arrayArg, boolArg, CONTAINER_OPTIONS, hardeningArg, STORE_OPTIONS, storeSelection, stringArg, type CommandSpec } from "../docker-cli/spec";

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
    { name: "volume-mount", short: "v", type: "string", array: true, placeholder: "list", description: "Bind mount a volume (as docker run -v)" },
    { name: "timeout", type: "string", placeholder: "duration", description: "Give up after this long", default: "90s" },
    { name: "image", type: "string", placeholder: "string", description: "Production image to use (default claudeauth/run:VERSION)" },
    { name: "json", type: "boolean", description: "Print JSON" },
    ...CONTAINER_OPTIONS,
  ],
  run: async (args, { docker }) =>
    (await import("../services/test")).check(
      {
        selection: storeSelection(args),
        network: stringArg(args, "network"),
        image: stringArg(args, "image"),
        env: arrayArg(args, "env"),
        volumes: arrayArg(args, "volume-mount"),
        mounts: arrayArg(args, "mount"),
        hardening: hardeningArg(args, "test"),
        timeoutMs: parseDuration(stringArg(args, "timeout") ?? "90s"),
        json: boolArg(args, "json"),
      },
      docker,
    ),
};
