import { METADATA } from "./metadata";
import { LEADING_OPTIONS, type CommandSpec, type GroupSpec, type OptionSpec } from "./spec";

// Help in Docker's layout (cobra + pflag, as buildx and compose print it), the same when
// run directly as docker-claudeauth.

const ROOT = "docker claudeauth";

function flagColumn(option: OptionSpec): string {
  const short = option.short ? `-${option.short}, ` : "    ";
  const type = option.type === "boolean" ? "" : ` ${option.placeholder ?? (option.array ? "list" : "string")}`;
  return `  ${short}--${option.name}${type}`;
}

export function renderOptions(options: OptionSpec[]): string {
  const visible = options.filter((o) => !o.hidden);
  const width = Math.max(...visible.map((o) => flagColumn(o).length));
  return visible
    .map((o) => {
      const defaultText = typeof o.default === "string" && o.default !== "" && !o.description.includes("(default") ? ` (default "${o.default}")` : "";
      return `${flagColumn(o).padEnd(width)}   ${o.description}${defaultText}`;
    })
    .join("\n");
}

function table(rows: [string, string][]): string {
  const width = Math.max(...rows.map(([name]) => name.length), 10);
  return rows.map(([name, text]) => `  ${name.padEnd(width)}  ${text}`).join("\n");
}

export function rootHelp(commands: CommandSpec[], groups: GroupSpec[]): string {
  return [
    `Usage:  ${ROOT} [OPTIONS] COMMAND`,
    "",
    METADATA.ShortDescription,
    "",
    "Options:",
    renderOptions(LEADING_OPTIONS),
    "",
    "Management Commands:",
    table(groups.map((g) => [g.name, g.summary])),
    "",
    "Commands:",
    table(commands.map((c) => [c.path.join(" "), c.summary])),
    "",
    `Run '${ROOT} COMMAND --help' for more information on a command.`,
    "",
    'The plugin is "claudeauth", not "claude-auth": Docker accepts plugin names of lowercase letters and digits only.',
    "",
  ].join("\n");
}

export function groupHelp(group: GroupSpec): string {
  return [
    `Usage:  ${ROOT} ${group.name} COMMAND`,
    "",
    group.summary,
    "",
    "Commands:",
    table(group.commands.map((c) => [c.path[c.path.length - 1]!, c.summary])),
    "",
    `Run '${ROOT} ${group.name} COMMAND --help' for more information on a command.`,
    "",
  ].join("\n");
}

export function commandHelp(command: CommandSpec): string {
  const name = `${ROOT} ${command.path.join(" ")}`;
  const lines = [`Usage:  ${name}${command.usage ? ` ${command.usage}` : ""}`, "", command.summary];
  if (command.description) lines.push("", command.description.trim());
  if (command.aliases?.length) {
    lines.push("", "Aliases:", `  ${[name, ...command.aliases.map((a) => `${ROOT} ${[...command.path.slice(0, -1), a].join(" ")}`)].join(", ")}`);
  }
  if (command.options.some((o) => !o.hidden)) lines.push("", "Options:", renderOptions(command.options));
  if (command.examples?.length) lines.push("", "Examples:", ...command.examples.map((e) => `  ${e}`));
  lines.push("");
  return lines.join("\n");
}
