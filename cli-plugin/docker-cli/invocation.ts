import { UserError } from "../../core/errors";

// How we were started. By docker: argv is `[docker global flags...] claudeauth ARGS`, or
// `help claudeauth` (docker help claudeauth), or `__complete claudeauth ARGS... WORD`
// (shell completion). Run directly: `docker-claudeauth [docker global flags...] ARGS`.

export const PLUGIN_NAME = "claudeauth";

export type Invocation = {
  kind: "command" | "help" | "complete";
  /** Docker's global flags, exactly as given, to pass on to every docker call. */
  dockerArgs: string[];
  /** The plugin's own arguments (after the `claudeauth` word). */
  args: string[];
  /** True when docker started us (the `claudeauth` word was there). */
  viaDocker: boolean;
  /** --config DIR among the global flags, if any. */
  configDir: string | undefined;
};

// Docker's global flags (docker --help): the ones that take a value, and the switches.
const VALUE_FLAGS = new Set(["--context", "-c", "--host", "-H", "--config", "--log-level", "-l", "--tlscacert", "--tlscert", "--tlskey"]);
const SWITCHES = new Set(["--debug", "-D", "--tls", "--tlsverify"]);

export function parseInvocation(argv: string[]): Invocation {
  if (argv[0] === "__complete" || argv[0] === "__completeNoDesc") {
    const rest = argv.slice(1);
    return { kind: "complete", dockerArgs: [], args: rest[0] === PLUGIN_NAME ? rest.slice(1) : rest, viaDocker: rest[0] === PLUGIN_NAME, configDir: undefined };
  }
  if (argv[0] === "help" && argv[1] === PLUGIN_NAME) {
    return { kind: "help", dockerArgs: [], args: argv.slice(2), viaDocker: true, configDir: undefined };
  }

  const dockerArgs: string[] = [];
  let configDir: string | undefined;
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    const name = arg.startsWith("--") && arg.includes("=") ? arg.slice(0, arg.indexOf("=")) : arg;
    if (SWITCHES.has(name) || (/^--(tls|tlsverify|debug)=/.test(arg))) {
      dockerArgs.push(arg);
    } else if (VALUE_FLAGS.has(name)) {
      let value: string | undefined;
      if (name !== arg) value = arg.slice(name.length + 1);
      else {
        value = argv[++i];
        if (value === undefined) throw new UserError(`flag needs an argument: ${arg}`, 125);
        dockerArgs.push(arg);
        dockerArgs.push(value);
      }
      if (name !== arg) dockerArgs.push(arg);
      if (name === "--config") configDir = value;
    } else if (/^-[cHl]./.test(arg)) {
      // -Hunix:///x, -cname: a short flag with its value attached.
      dockerArgs.push(arg);
    } else break;
  }
  let args = argv.slice(i);
  let viaDocker = false;
  if (args[0] === PLUGIN_NAME) {
    args = args.slice(1);
    viaDocker = true;
  }
  return { kind: "command", dockerArgs, args, viaDocker, configDir };
}
