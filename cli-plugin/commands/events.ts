import { FORMAT_OPTIONS, formatArg } from "../docker-cli/format";
import { OLD_VOLUME_OPTION, STORE_OPTIONS, storeSelection, stringArg, type CommandSpec } from "../docker-cli/spec";

// The implementation is loaded when the command runs: other commands start faster.
export const eventsCommand: CommandSpec = {
  path: ["events"],
  usage: "[OPTIONS]",
  summary: "Show the store's audit trail: setups, refreshes, runs, refused write-backs and attacks",
  description: `Oldest first. The store keeps its newest events (up to about 256 KiB); no event holds a token.
A refresh shows how the token endpoint answered: ok, invalid_grant, 429, 5xx or network.
A store in a credential helper keeps no events.`,
  options: [
    ...STORE_OPTIONS,
    { name: "since", type: "string", placeholder: "duration", description: "Only events of the last DURATION (e.g. 24h, 7d)" },
    ...FORMAT_OPTIONS,
    OLD_VOLUME_OPTION,
  ],
  examples: ["docker claudeauth events --since 24h", "docker claudeauth events --format json", 'docker claudeauth events --format "{{.Time}} {{.Kind}} {{.Outcome}}"'],
  run: async (args, { docker }) =>
    (await import("../services/events")).events({ selection: storeSelection(args, "events"), since: stringArg(args, "since"), format: formatArg(args, "events") }, docker),
};
