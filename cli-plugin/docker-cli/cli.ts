import { UserError, errorMessage } from "../../core/errors";
import { configureOutput, log, print } from "../../core/output";
import { COMMANDS, GROUPS } from "../commands";
import { complete } from "./completion";
import { Docker } from "../engine/docker";
import { commandHelp, groupHelp, rootHelp } from "./help";
import { parseInvocation, type Invocation } from "./invocation";
import { ownArgs, parseCommandArgs } from "./parse";
import { exitCodeFor, installSignalHandlers, stoppedBy } from "./signals";
import { LEADING_OPTIONS, UsageError, type CommandSpec, type GroupSpec } from "./spec";

// The plugin's front door: works out how it was started, finds the command, parses its
// flags (yargs), runs it and turns the outcome into an exit code: the command's own, 125
// for usage errors, 130/143 after Ctrl-C / TERM, 1 for anything else.

type Resolved =
  | { kind: "root" }
  | { kind: "group"; group: GroupSpec }
  | { kind: "command"; command: CommandSpec; args: string[] }
  | { kind: "unknown"; word: string; within: string };

function matches(command: CommandSpec, word: string): boolean {
  return command.path[command.path.length - 1] === word || (command.aliases ?? []).includes(word);
}

/** Finds the command in `args`; options before it (--profile x) are moved after it. */
export function resolveCommand(args: string[]): Resolved {
  const leading: string[] = [];
  let i = 0;
  const valueOptions = new Set(LEADING_OPTIONS.filter((o) => o.type === "string").map((o) => `--${o.name}`));
  for (; i < args.length; i++) {
    const arg = args[i]!;
    if (valueOptions.has(arg)) {
      leading.push(arg, args[i + 1] ?? "");
      i++;
    } else if (arg.startsWith("-") && arg !== "--") leading.push(arg);
    else break;
  }
  const word = args[i];
  if (word === undefined || word === "--") return { kind: "root" };
  const group = GROUPS.find((g) => g.name === word);
  if (group) {
    const sub = args[i + 1];
    if (sub === undefined || sub.startsWith("-")) return { kind: "group", group };
    const command = group.commands.find((c) => matches(c, sub));
    if (!command) return { kind: "unknown", word: sub, within: `docker claudeauth ${group.name}` };
    return { kind: "command", command, args: [...leading, ...args.slice(i + 2)] };
  }
  const command = COMMANDS.find((c) => matches(c, word));
  if (!command) return { kind: "unknown", word, within: "docker claudeauth" };
  return { kind: "command", command, args: [...leading, ...args.slice(i + 1)] };
}

function wantsHelp(args: string[]): boolean {
  const resolved = resolveCommand(args);
  const end = args.indexOf("--");
  const own = resolved.kind === "command" ? ownArgs(resolved.command, resolved.args) : end === -1 ? args : args.slice(0, end);
  return own.some((a) => a === "--help" || a === "-h");
}

function showHelp(args: string[]): number {
  const resolved = resolveCommand(args.filter((a) => a !== "--help" && a !== "-h"));
  switch (resolved.kind) {
    case "root":
      print(rootHelp(COMMANDS, GROUPS));
      return 0;
    case "group":
      print(groupHelp(resolved.group));
      return 0;
    case "command":
      print(commandHelp(resolved.command));
      return 0;
    case "unknown":
      throw new UsageError(`unknown command "${resolved.word}" for "${resolved.within}"`, resolved.within);
  }
}

async function dispatch(invocation: Invocation): Promise<number> {
  const args = invocation.args;
  if (invocation.kind === "help") return showHelp(args);
  if (args[0] === "help") return showHelp(args.slice(1));
  if (args[0] === "--version" && args.length === 1) return (await import("../services/version")).version({ short: false, format: { kind: "table" } });
  if (wantsHelp(args)) return showHelp(args);

  const resolved = resolveCommand(args);
  switch (resolved.kind) {
    case "root": {
      if (args.some((a) => a.startsWith("-") && a !== "--")) throw new UsageError("missing command: options like --profile go with a command, e.g. docker claudeauth --profile NAME status");
      print(rootHelp(COMMANDS, GROUPS));
      return 0;
    }
    case "group":
      print(groupHelp(resolved.group));
      return 0;
    case "unknown":
      throw new UsageError(`unknown command "${resolved.word}" for "${resolved.within}"`, resolved.within);
    case "command": {
      const parsed = parseCommandArgs(resolved.command, resolved.args);
      const docker = new Docker(invocation.dockerArgs);
      return resolved.command.run(parsed, { docker, invocation });
    }
  }
}

export async function main(argv: string[]): Promise<number> {
  configureOutput({ prefix: "" });
  let invocation: Invocation;
  try {
    invocation = parseInvocation(argv);
  } catch (error) {
    log.error(errorMessage(error));
    return error instanceof UserError ? error.exitCode : 1;
  }
  if (invocation.kind === "complete") {
    print(complete(invocation.args).join("\n"));
    return 0;
  }
  installSignalHandlers();
  try {
    const code = await dispatch(invocation);
    const signal = stoppedBy();
    return signal ? exitCodeFor(signal) : code;
  } catch (error) {
    const signal = stoppedBy();
    if (signal) return exitCodeFor(signal);
    if (error instanceof UserError) {
      log.error(error.message);
      return error.exitCode;
    }
    log.error(`internal error: ${errorMessage(error)}`);
    if (process.env.CLAUDEAUTH_DEBUG) log.debug((error as Error).stack ?? "");
    return 1;
  }
}
