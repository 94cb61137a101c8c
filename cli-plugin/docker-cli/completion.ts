import { COMMANDS, GROUPS } from "../commands";
import { listHostProfiles } from "../stores/profile";
import { LEADING_OPTIONS, type CommandSpec, type OptionSpec } from "./spec";

// Shell completion through Docker's own: `docker __complete claudeauth WORDS... PARTIAL`
// runs us with `__complete claudeauth ...`; we answer as cobra does: one candidate per
// line ("value\tdescription"), then ":DIRECTIVE". No Docker calls here (during completion
// DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND points at the plugin itself) and no slow work.

const DEFAULT = 0; // let the shell complete file names
const NO_FILES = 4;

function candidates(items: [string, string][], partial: string): string[] {
  return items.filter(([value]) => value.startsWith(partial)).map(([value, text]) => (text ? `${value}\t${text}` : value));
}

function optionItems(options: OptionSpec[]): [string, string][] {
  return options.filter((o) => !o.hidden).flatMap((o) => [[`--${o.name}`, o.description] as [string, string]]);
}

function valueCompletion(option: OptionSpec, partial: string): string[] {
  if (option.complete === "files" || !option.complete) return [`:${option.complete === "files" ? DEFAULT : NO_FILES}`];
  const values = option.complete === "profiles" ? listHostProfiles() : [...option.complete];
  return [...candidates(values.map((v) => [v, ""]), partial), `:${NO_FILES}`];
}

export function complete(words: string[]): string[] {
  const partial = words.length ? words[words.length - 1]! : "";
  const before = words.slice(0, -1);
  if (before.includes("--")) return [`:${DEFAULT}`];

  let command: CommandSpec | undefined;
  let group = undefined as (typeof GROUPS)[number] | undefined;
  let options = LEADING_OPTIONS;
  for (let i = 0; i < before.length; i++) {
    const word = before[i]!;
    if (word.startsWith("-")) {
      const option = options.find((o) => `--${o.name}` === word || (o.short && `-${o.short}` === word));
      if (option && option.type === "string") i++;
      continue;
    }
    if (!command && !group) {
      group = GROUPS.find((g) => g.name === word);
      command = COMMANDS.find((c) => c.path[0] === word || c.aliases?.includes(word));
      if (command) options = command.options;
    } else if (group && !command) {
      command = group.commands.find((c) => c.path[1] === word || c.aliases?.includes(word));
      if (command) options = command.options;
    } else if (command?.passthrough) return [`:${DEFAULT}`]; // the workload's COMMAND: its words, not ours
  }

  const previous = before[before.length - 1];
  const valueOf = previous ? options.find((o) => o.type === "string" && (`--${o.name}` === previous || (o.short && `-${o.short}` === previous))) : undefined;
  if (valueOf) return valueCompletion(valueOf, partial);
  if (partial.startsWith("-")) return [...candidates(optionItems(options), partial), `:${NO_FILES}`];
  if (!command && group) return [...candidates(group.commands.map((c) => [c.path[1]!, c.summary]), partial), `:${NO_FILES}`];
  if (!command) {
    return [
      ...candidates([...COMMANDS.map((c) => [c.path[0]!, c.summary] as [string, string]), ...GROUPS.map((g) => [g.name, g.summary] as [string, string])], partial),
      `:${NO_FILES}`,
    ];
  }
  if (command.positionals?.completeProfiles) return [...candidates(listHostProfiles().map((p) => [p, ""]), partial), `:${NO_FILES}`];
  return [`:${NO_FILES}`];
}
