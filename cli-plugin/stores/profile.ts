import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { UserError } from "../../core/errors";
import { isWithin } from "../../core/layout";
import { serverUrl } from "../../core/credential-helper";
import { parseStoreAddress } from "../../core/store-address";
import { configuredHelper } from "./credential-helper";
import { formatKubernetesAddress, isKubernetesAddress, parseKubernetesAddress } from "../../core/kubernetes/address";

// Where a profile's store lives: a host directory (--store DIR, else
// $CLAUDE_HUB_DIR/<profile>, else ~/.claude-hub/<profile>), a Docker volume (--store-volume
// NAME, for engines on another machine, where a host path means nothing), or a Docker
// credential helper (--store helper:NAME, or helper: for the credsStore of the Docker
// config): the host's encrypted keychain, one entry per profile; or a Kubernetes Secret
// (--store k8s://NAMESPACE/NAME), reached with the user's kubeconfig (--kubeconfig, --context).

export const DEFAULT_PROFILE = "default";
const PROFILE_NAME = /^[a-z0-9][a-z0-9_.-]*$/;
const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
export const PROFILE_LABEL = "io.claudeauth.profile";

export type StoreRef =
  | { kind: "dir"; profile: string; path: string; source: "--store" | "CLAUDE_HUB_DIR" | "default" }
  | { kind: "volume"; profile: string; volume: string }
  | { kind: "helper"; profile: string; helper: string; configured: boolean }
  | { kind: "k8s"; profile: string; address: string; kubeconfig: string | undefined; context: string | undefined };

/** A store that a container on this host's engine can be given (every kind but a k8s:// Secret, which only pods and the plugin reach). */
export type HostStoreRef = Exclude<StoreRef, { kind: "k8s" }>;

export type StoreSelection = {
  profile?: string | undefined;
  store?: string | undefined;
  volume?: string | undefined;
  /** For a k8s:// store (cli-plugin/stores/kubeconfig.ts). */
  kubeconfig?: string | undefined;
  context?: string | undefined;
};

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

/** The store a command works on, any kind (setup, status, refresh, doctor: the commands that reach a k8s:// store from here). */
export function resolveAnyStore(selection: StoreSelection, env: NodeJS.ProcessEnv = process.env): StoreRef {
  const profile = validateProfileName(selection.profile ?? DEFAULT_PROFILE);
  if (selection.store && selection.volume) throw new UserError("--store and --store-volume cannot be used together: pick one", 125);
  if (selection.store && isKubernetesAddress(selection.store)) {
    const address = formatKubernetesAddress(parseKubernetesAddress(selection.store));
    return { kind: "k8s", profile, address, kubeconfig: selection.kubeconfig, context: selection.context };
  }
  return resolveHostStore(selection, profile, env);
}

/** The store of a command that gives it to a container (run, logout, events, ...): a k8s:// store is refused with where it works. */
export function resolveStore(selection: StoreSelection, env: NodeJS.ProcessEnv = process.env): HostStoreRef {
  const ref = resolveAnyStore(selection, env);
  if (ref.kind === "k8s") {
    throw new UserError(
      `${ref.address} is a Kubernetes store: setup, status, refresh, doctor and events work with it from here; runs happen in its pods (examples/kubernetes/)`,
      125,
    );
  }
  return ref;
}

function resolveHostStore(selection: StoreSelection, profile: string, env: NodeJS.ProcessEnv): HostStoreRef {
  if (selection.kubeconfig || selection.context) {
    throw new UserError("--kubeconfig and --context pick the cluster of a k8s:// store: add --store k8s://NAMESPACE/NAME (Docker's own context goes before claudeauth: docker --context NAME claudeauth …)", 125);
  }
  if (selection.volume) return { kind: "volume", profile, volume: validateVolumeName(selection.volume) };
  const address = selection.store?.startsWith("helper:") ? parseStoreAddress(selection.store) : null;
  if (address?.kind === "helper") return { kind: "helper", profile, helper: address.name ?? configuredHelper(env), configured: address.name === null };
  if (selection.store) return { kind: "dir", profile, path: path.resolve(expandHome(selection.store)), source: "--store" };
  return { kind: "dir", profile, path: path.join(hubRoot(env), profile), source: env.CLAUDE_HUB_DIR ? "CLAUDE_HUB_DIR" : "default" };
}

function expandHome(p: string): string {
  return p === "~" || p.startsWith("~/") ? path.join(os.homedir(), p.slice(1)) : p;
}

export function describeStore(ref: StoreRef): string {
  switch (ref.kind) {
    case "helper":
      return `docker-credential-${ref.helper} (${serverUrl(ref.profile)})`;
    case "k8s":
      return ref.address;
    case "dir":
      return ref.path;
    case "volume":
      return `volume ${ref.volume}`;
  }
}

/**
 * Creates a host-dir store (0700, owned by us) before any container sees it: Docker would
 * otherwise create a missing bind source as root. Parents are created 0700 too. An existing
 * directory is taken only if it is ours, not a shared (sticky) one, and empty or already a
 * store: the entrypoint makes the store root 0700 and owned by the store owner, so anything
 * else (`/`, `/tmp`, a project) would be taken over. A refused directory is left as it was.
 */
export function ensureStoreDir(ref: StoreRef & { kind: "dir" }): void {
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(ref.path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw new UserError(`cannot use the store ${ref.path}: ${(error as Error).message}`);
  }
  if (!stat) {
    try {
      fs.mkdirSync(ref.path, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw new UserError(`cannot create the store ${ref.path}: ${(error as Error).message}`);
    }
    return;
  }
  refuseForeignDir(ref.path, stat);
  if ((stat.mode & 0o7777) !== 0o700) fs.chmodSync(ref.path, 0o700);
}

function refuseForeignDir(dir: string, stat: fs.Stats): void {
  const refuse = (why: string) =>
    new UserError(`refusing to use ${dir} as a store: ${why}; pass --store with a new or empty directory of yours (it is left as it was)`, 125);
  if (!stat.isDirectory()) throw refuse("it is not a directory");
  const uid = process.getuid?.() ?? 0;
  if (stat.uid !== uid) throw refuse(`it belongs to uid ${stat.uid}, not to you (uid ${uid})`);
  if (stat.mode & 0o1000) throw refuse("it is a shared directory (sticky bit, like /tmp)");
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (error) {
    throw new UserError(`cannot use the store ${dir}: ${(error as Error).message}`);
  }
  if (names.length > 0 && !isStore(dir)) throw refuse(`it holds other files (${names.length} entries) and no captures/`);
}

/** A store is a directory with a captures/ directory in it. */
function isStore(dir: string): boolean {
  try {
    return fs.lstatSync(path.join(dir, "captures")).isDirectory();
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------
// What a container must never mount: a host path that contains the store or the hub
// directory, or lies inside one of them. The workload runs with the uid that owns the
// store files, so a mount that reaches them hands it the refresh token.

/** A place the workload must not see, by its real paths. */
export type ProtectedPlace = { what: string; path: string; real: string[] };

/**
 * The real paths of `p` (symlinks, "..", "." and trailing slashes resolved): the kernel's
 * reading and the lexical one (Docker may clean a path before the kernel sees it). A part
 * that does not exist yet is appended to the real path of its nearest existing parent.
 */
export function realPaths(p: string, cwd = process.cwd()): string[] {
  const expanded = expandHome(p);
  const raw = expanded.startsWith("/") ? expanded : `${cwd}/${expanded}`;
  return [...new Set([realPathOf(raw), realPathOf(path.resolve(cwd, expanded))])];
}

function realPathOf(absolute: string): string {
  const missing: string[] = [];
  let existing = absolute;
  for (;;) {
    try {
      return path.resolve(fs.realpathSync.native(existing), ...missing);
    } catch {
      const parent = path.dirname(existing);
      if (parent === existing) return path.resolve(absolute);
      missing.unshift(path.basename(existing));
      existing = parent;
    }
  }
}

/** The store (a host dir) and every hub directory that exists: $CLAUDE_HUB_DIR, ~/.claude-hub. */
export function protectedPlaces(ref: StoreRef, env: NodeJS.ProcessEnv = process.env): ProtectedPlace[] {
  const places: ProtectedPlace[] = [];
  if (ref.kind === "dir") places.push({ what: `the store of profile ${ref.profile}`, path: ref.path, real: realPaths(ref.path) });
  for (const hub of new Set([hubRoot(env), path.join(os.homedir(), ".claude-hub")])) {
    if (fs.existsSync(hub)) places.push({ what: "the hub directory of the stores", path: hub, real: realPaths(hub) });
  }
  return places;
}

/**
 * Refuses (exit 125) to mount `source` if it contains a protected place or lies inside
 * one, compared by real paths in both directions. `what` names it ("the workspace", "-v").
 */
export function refuseStoreExposure(places: ProtectedPlace[], source: string, what: string, fix: string): void {
  const sources = realPaths(source);
  for (const place of places) {
    for (const a of sources) {
      for (const b of place.real) {
        const relation = a === b ? "is" : isWithin(b, a) ? "contains" : isWithin(a, b) ? "lies inside" : null;
        if (relation) {
          throw new UserError(
            `refusing to mount ${what} ${source}: it ${relation} ${place.what} (${place.path}), and the workload would read its refresh token; ${fix}`,
            125,
          );
        }
      }
    }
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
export function storeMount(ref: StoreRef & { kind: "dir" | "volume" }, target: string, readonly = false): string {
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
