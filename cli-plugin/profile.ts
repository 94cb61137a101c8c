import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { UserError } from "../core/errors";

// Where a profile's store lives: a host directory (--store DIR, else
// $CLAUDE_HUB_DIR/<profile>, else ~/.claude-hub/<profile>) or a Docker volume (--volume
// NAME, for engines on another machine, where a host path means nothing).

export const DEFAULT_PROFILE = "default";
const PROFILE_NAME = /^[a-z0-9][a-z0-9_.-]*$/;
const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
export const PROFILE_LABEL = "io.claudeauth.profile";

export type StoreRef =
  | { kind: "dir"; profile: string; path: string; source: "--store" | "CLAUDE_HUB_DIR" | "default" }
  | { kind: "volume"; profile: string; volume: string };

export type StoreSelection = { profile?: string | undefined; store?: string | undefined; volume?: string | undefined };

export function validateProfileName(name: string): string {
  if (name.length > 64 || !PROFILE_NAME.test(name) || name.includes("..")) {
    throw new UserError(
      `invalid profile name "${name}": use up to 64 lowercase letters, digits, ".", "_" and "-", starting with a letter or digit (no "/" or "..")`,
      125,
    );
  }
  return name;
}

export function validateVolumeName(name: string): string {
  if (name.length > 128 || !VOLUME_NAME.test(name)) {
    throw new UserError(`invalid volume name "${name}": use letters, digits, ".", "_" and "-", starting with a letter or digit`, 125);
  }
  return name;
}

/** The directory that holds one store per profile. */
export function hubRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.CLAUDE_HUB_DIR ? path.resolve(env.CLAUDE_HUB_DIR) : path.join(os.homedir(), ".claude-hub");
}

export function resolveStore(selection: StoreSelection, env: NodeJS.ProcessEnv = process.env): StoreRef {
  const profile = validateProfileName(selection.profile ?? DEFAULT_PROFILE);
  if (selection.store && selection.volume) throw new UserError("--store and --volume cannot be used together: pick one", 125);
  if (selection.volume) return { kind: "volume", profile, volume: validateVolumeName(selection.volume) };
  if (selection.store) return { kind: "dir", profile, path: path.resolve(expandHome(selection.store)), source: "--store" };
  return { kind: "dir", profile, path: path.join(hubRoot(env), profile), source: env.CLAUDE_HUB_DIR ? "CLAUDE_HUB_DIR" : "default" };
}

function expandHome(p: string): string {
  return p === "~" || p.startsWith("~/") ? path.join(os.homedir(), p.slice(1)) : p;
}

export function describeStore(ref: StoreRef): string {
  return ref.kind === "dir" ? ref.path : `volume ${ref.volume}`;
}

/**
 * Creates a host-dir store (0700, owned by us) before any container sees it: Docker would
 * otherwise create a missing bind source as root. Parents are created 0700 too.
 */
export function ensureStoreDir(ref: StoreRef & { kind: "dir" }): void {
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(ref.path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw new UserError(`cannot use the store ${ref.path}: ${(error as Error).message}`);
  }
  if (stat && !stat.isDirectory()) throw new UserError(`the store ${ref.path} exists but is not a directory: pick another with --store`);
  if (!stat) {
    try {
      fs.mkdirSync(ref.path, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw new UserError(`cannot create the store ${ref.path}: ${(error as Error).message}`);
    }
  }
  try {
    if (fs.statSync(ref.path).uid === process.getuid?.()) fs.chmodSync(ref.path, 0o700);
  } catch {
    // Not ours to change: doctor reports it.
  }
}

/** Profiles that have a host-dir store under the hub root. */
export function listHostProfiles(env: NodeJS.ProcessEnv = process.env): string[] {
  const root = hubRoot(env);
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch {
    return [];
  }
  return names
    .filter((name) => PROFILE_NAME.test(name) && !name.includes(".."))
    .filter((name) => {
      try {
        return fs.lstatSync(path.join(root, name)).isDirectory();
      } catch {
        return false;
      }
    })
    .sort();
}

/** The --mount value for the store at the entrypoint's path. */
export function storeMount(ref: StoreRef, target: string, readonly = false): string {
  const source = ref.kind === "dir" ? ref.path : ref.volume;
  const fields = [`type=${ref.kind === "dir" ? "bind" : "volume"}`, csvField(`source=${source}`), csvField(`target=${target}`)];
  if (readonly) fields.push("readonly");
  return fields.join(",");
}

export function bindMount(source: string, target: string, readonly = false): string {
  return ["type=bind", csvField(`source=${source}`), csvField(`target=${target}`), ...(readonly ? ["readonly"] : [])].join(",");
}

/** --mount takes CSV: a field with a comma or a quote is quoted. */
function csvField(field: string): string {
  return /[",\n]/.test(field) ? `"${field.replace(/"/g, '""')}"` : field;
}
