import type { Options } from "yargs";
import { makeYargs } from "./yargs";
import { UsageError, type Args, type CommandSpec } from "./spec";

// Parses one command's arguments with yargs, from its spec. Usage errors carry exit code
// 125 and Docker's wording ("unknown flag: --x", "flag needs an argument: --x"). A command
// that runs a COMMAND (run, setup) stops at its first argument, as docker run stops at the
// image: `run claude --version` gives --version to claude; "--" before COMMAND still works.

export function parseCommandArgs(spec: CommandSpec, args: string[]): Args {
  const helpCommand = `docker claudeauth ${spec.path.join(" ")}`;
  let y = makeYargs(args)
    .parserConfiguration({
      "populate--": true,
      "greedy-arrays": false,
      "boolean-negation": false,
      "short-option-groups": true,
      "parse-numbers": false,
      "parse-positional-numbers": false,
      "dot-notation": false,
      "duplicate-arguments-array": true,
      "halt-at-non-option": spec.passthrough === true,
    })
    .strictOptions();
  for (const option of spec.options) {
    const config: Options = { type: option.type, requiresArg: option.type !== "boolean" };
    if (option.short) config.alias = option.short;
    if (option.array) config.array = true;
    if (option.default !== undefined) config.default = option.default;
    y = y.option(option.name, config);
  }
  y = y.fail((message, error) => {
    throw new UsageError(translate(message ?? error?.message ?? "invalid arguments", args), helpCommand);
  });

  // A single-value flag given twice: the last one wins, as with docker's own flags (stringArg).
  const parsed = y.parseSync() as unknown as Args;
  const positionals = parsed._.map(String);
  const allowed = spec.positionals ?? { min: 0, max: 0 };
  if (positionals.length > allowed.max) {
    const extra = positionals[allowed.max]!;
    throw new UsageError(
      spec.passthrough ? `unexpected argument "${extra}": put the command after "--"` : `unexpected argument "${extra}"`,
      helpCommand,
    );
  }
  if (positionals.length < allowed.min) throw new UsageError(`"${helpCommand}" requires at least ${allowed.min} argument${allowed.min === 1 ? "" : "s"}`, helpCommand);
  if (!spec.passthrough && (parsed["--"]?.length ?? 0) > 0) {
    throw new UsageError(`"${helpCommand}" takes no command after "--"`, helpCommand);
  }
  return parsed;
}

/**
 * The arguments that are the command's own flags: all of them, or for a command that runs a
 * COMMAND those before it (so `run claude --help` is claude's help, not ours).
 */
export function ownArgs(spec: CommandSpec, args: string[]): string[] {
  const end = args.indexOf("--");
  const own = end === -1 ? args : args.slice(0, end);
  if (!spec.passthrough) return own;
  const takesValue = (name: string) => spec.options.some((o) => o.type === "string" && (o.name === name || o.short === name));
  for (let i = 0; i < own.length; i++) {
    const arg = own[i]!;
    if (!arg.startsWith("-") || arg === "-") return own.slice(0, i);
    if (arg.includes("=")) continue;
    const name = arg.startsWith("--") ? arg.slice(2) : arg.slice(-1);
    if (takesValue(name)) i++;
  }
  return own;
}

function translate(message: string, args: string[]): string {
  const unknown = /^Unknown arguments?: (.*)$/.exec(message);
  if (unknown) {
    const name = unknown[1]!.split(", ")[0]!;
    const original = args.find((a) => a.replace(/^-+/, "").split("=")[0] === name) ?? (name.length === 1 ? `-${name}` : `--${name}`);
    return `unknown flag: ${original.split("=")[0]}`;
  }
  const missing = /^Not enough arguments following: (.*)$/.exec(message);
  if (missing) {
    const name = missing[1]!;
    return `flag needs an argument: ${name.length === 1 ? `-${name}` : `--${name}`}`;
  }
  return message;
}
