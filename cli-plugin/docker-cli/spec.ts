import fs from "node:fs";
import path from "node:path";
import { UserError } from "../../core/errors";
import type { Docker, Hardening } from "../engine/docker";
import type { Invocation } from "./invocation";
import type { StoreSelection } from "../stores/profile";

// A command, declared once: yargs parses from it, help and completion render from it.

export type OptionSpec = {
  name: string;
  short?: string;
  type: "string" | "boolean";
  array?: boolean;
  /** Shown after the flag in help: "string", "list", "duration", ... */
  placeholder?: string;
  description: string;
  default?: string | boolean;
  /** Values offered by completion: profile names, a fixed list, or files (the shell's own). */
  complete?: "profiles" | "files" | readonly string[];
  hidden?: boolean;
};

export type Args = Record<string, unknown> & { _: (string | number)[]; "--"?: (string | number)[] };

export type Context = { docker: Docker; invocation: Invocation };

export type CommandSpec = {
  /** ["status"], or ["profile", "ls"] under a management command. */
  path: string[];
  aliases?: string[];
  /** What follows the command in "Usage:", e.g. "[OPTIONS] [-- COMMAND [ARG...]]". */
  usage: string;
  summary: string;
  description?: string;
  options: OptionSpec[];
  /** Positional arguments allowed (besides the command after --). */
  positionals?: { min: number; max: number; completeProfiles?: boolean };
  /** Takes a command after `--`. */
  passthrough?: boolean;
  examples?: string[];
  run(args: Args, context: Context): Promise<number>;
};

export type GroupSpec = { name: string; summary: string; commands: CommandSpec[] };

export class UsageError extends UserError {
  constructor(message: string, readonly helpCommand = "docker claudeauth") {
    super(`${message} (see '${helpCommand} --help')`, 125);
  }
}

// Options shared by every command that works on a store.
export const STORE_OPTIONS: OptionSpec[] = [
  { name: "profile", type: "string", placeholder: "string", description: 'Profile (store) to use (default "default")', complete: "profiles" },
  { name: "store", type: "string", placeholder: "string", description: "Host directory of the store (default $CLAUDE_HUB_DIR/PROFILE, else ~/.claude-hub/PROFILE); helper:NAME; k8s://NAMESPACE/NAME", complete: "files" },
  { name: "store-volume", type: "string", placeholder: "string", description: "Docker volume holding the store instead (for engines on another machine)" },
  { name: "kubeconfig", type: "string", placeholder: "string", description: "With --store k8s://NAMESPACE/NAME: the kubeconfig file (default $KUBECONFIG, else ~/.kube/config)", complete: "files" },
  { name: "context", type: "string", placeholder: "string", description: "With --store k8s://NAMESPACE/NAME: the kubeconfig context (default: its current context)" },
];

/**
 * Until 0.1 --volume named the store volume; now it is a bind mount, as in docker run. Commands
 * that take no mounts keep it hidden, so that the old use gets a pointer, not "unknown flag".
 */
export const OLD_VOLUME_OPTION: OptionSpec = { name: "volume", type: "string", array: true, placeholder: "list", description: "Renamed --store-volume", hidden: true };

// Options of every command that starts a container for a workload: more mounts, more
// capabilities, or none of the default hardening (README, "Hardening").
export const CONTAINER_OPTIONS: OptionSpec[] = [
  {
    name: "ca-cert",
    type: "string",
    placeholder: "string",
    description: "CA certificate (PEM) of a TLS-intercepting proxy, trusted in the container (setup: and by a build of its image)",
    complete: "files",
  },
  { name: "volume", short: "v", type: "string", array: true, placeholder: "list", description: "Bind mount a volume (as docker run -v), e.g. -v \"$PWD/data:/data:ro\"" },
  { name: "mount", type: "string", array: true, placeholder: "mount", description: "Attach a filesystem mount (as docker run --mount), e.g. type=tmpfs,target=/cache" },
  { name: "cap-add", type: "string", array: true, placeholder: "list", description: "Add a Linux capability to the kept set (as docker run --cap-add)" },
  {
    name: "no-harden",
    type: "boolean",
    description: "Start the container without the default hardening (all capabilities but a few dropped, no-new-privileges, pids limit, read-only root)",
  },
];

/** Options that may come before the command: `docker claudeauth --profile x status`. */
export const LEADING_OPTIONS = [...STORE_OPTIONS, OLD_VOLUME_OPTION];

export function stringArg(args: Args, name: string): string | undefined {
  const value = args[name];
  if (Array.isArray(value)) return value.length ? String(value[value.length - 1]) : undefined;
  return value === undefined || value === null || value === "" ? undefined : String(value);
}

export function arrayArg(args: Args, name: string): string[] {
  const value = args[name];
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

export function boolArg(args: Args, name: string): boolean {
  return args[name] === true;
}

/** The store flags; an explicitly empty --profile "" stays empty, so that it is refused. */
export function storeSelection(args: Args, command: string): StoreSelection {
  refuseOldVolumeFlag(args, command);
  const profile = args.profile;
  const given = Array.isArray(profile) ? profile[profile.length - 1] : profile;
  return {
    profile: given === undefined ? undefined : String(given),
    store: stringArg(args, "store"),
    volume: stringArg(args, "store-volume"),
    kubeconfig: stringArg(args, "kubeconfig"),
    context: stringArg(args, "context"),
  };
}

/**
 * -v/--volume is a bind mount, as in docker run ("SRC:DST", or "/DST" for an anonymous
 * volume). A bare name is the old --volume NAME (the store volume): say where it went,
 * for one release, rather than let Docker answer "invalid volume specification".
 */
function refuseOldVolumeFlag(args: Args, command: string): void {
  const old = arrayArg(args, "volume").find((value) => !value.includes(":") && !value.startsWith("/"));
  if (old !== undefined) throw new UsageError(`--volume is now a bind mount (as docker run -v SRC:DST); the store volume is --store-volume ${old}`, `docker claudeauth ${command}`);
}

/** Where --ca-cert is mounted in the container. */
export const CA_CERT_IN_CONTAINER = "/etc/claudeauth/ca.pem";

/** -v/--volume values, checked for the old meaning (see refuseOldVolumeFlag), and --ca-cert's mount. */
export function volumeArgs(args: Args, command: string): string[] {
  refuseOldVolumeFlag(args, command);
  const ca = stringArg(args, "ca-cert");
  if (ca !== undefined && !fs.existsSync(ca)) throw new UsageError(`--ca-cert ${ca}: no such file`, `docker claudeauth ${command}`);
  return [...arrayArg(args, "volume"), ...(ca === undefined ? [] : [`${path.resolve(ca)}:${CA_CERT_IN_CONTAINER}:ro`])];
}

/** -e values, and with --ca-cert the variable that makes Node (the entrypoint) and the Claude CLI trust it. */
export function envArgs(args: Args): string[] {
  return [...arrayArg(args, "env"), ...(stringArg(args, "ca-cert") === undefined ? [] : [`NODE_EXTRA_CA_CERTS=${CA_CERT_IN_CONTAINER}`])];
}

/** The hardening asked for with CONTAINER_OPTIONS; --cap-add takes what Docker does (NET_ADMIN, CAP_NET_ADMIN, ALL). */
export function hardeningArg(args: Args, command: string): Hardening {
  const capAdd = arrayArg(args, "cap-add");
  for (const cap of capAdd) if (!/^(CAP_)?[A-Z_]+$/i.test(cap)) throw new UsageError(`invalid capability "${cap}" in --cap-add (e.g. NET_ADMIN)`, `docker claudeauth ${command}`);
  return { enabled: !boolArg(args, "no-harden"), capAdd };
}

export function passthroughCommand(args: Args): string[] {
  return (args["--"] ?? []).map(String);
}
