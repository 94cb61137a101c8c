import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { DEFAULT_STORE_IN_CONTAINER } from "../../core/layout";
import { UserError } from "../../core/errors";
import { suggest } from "../stores/analyze";
import { containerName, hardeningFlags, type Docker, type Hardening } from "../engine/docker";
import { productionStart, requireImage } from "../engine/images";
import { envFlags, mountFlags } from "../engine/passthrough";
import {
  bindMount, describeStore, PROFILE_LABEL, protectedPlaces, refuseStoreExposure, resolveStore, storeMount, type StoreRef, type StoreSelection,
} from "../stores/profile";
import { interactiveFlags, stdio } from "../docker-cli/terminal";

// run: the production image with the store mounted where the entrypoint expects it, a
// tmpfs for the per-run working copy, the workspace at /workspace, the host user's ids
// for the workload (so files it writes in the workspace are the user's), the command after
// "--". No secret is ever on this command line: the entrypoint reads the store.

export const WORK_DIR_IN_CONTAINER = "/run/claudeauth";
export const WORKSPACE_IN_CONTAINER = "/workspace";

export type RunOptions = {
  selection: StoreSelection;
  command: string[];
  workdir: string | undefined;
  noWorkspace: boolean;
  volumes: string[];
  mounts: string[];
  hardening: Hardening;
  env: string[];
  network: string | undefined;
  image: string | undefined;
  name: string | undefined;
  noTty: boolean;
  /** CLAUDEAUTH_ALLOW_LOGIN for the entrypoint: "1" (same account) or "any-account". */
  allowLogin: "1" | "any-account" | undefined;
};

export async function run(options: RunOptions, docker: Docker): Promise<number> {
  const ref = resolveStore(options.selection);
  const env = envFlags(options.env, "docker claudeauth run");
  await requireStore(ref, docker);
  const workspace = options.noWorkspace ? null : checkWorkspace(options.workdir ?? process.cwd(), ref, options.workdir !== undefined);
  const volumes = await mountFlags(options.volumes, options.mounts, ref, docker);
  const image = await requireImage(docker, "run", options.image);
  const start = await productionStart(docker, image, options.command);
  const name = options.name ?? containerName("run", ref.profile);
  const args = [
    ...productionRunFlags(ref, name, options.network, options.hardening),
    ...interactiveFlags(stdio(), !options.noTty),
    ...(workspace
      ? ["--mount", bindMount(workspace, WORKSPACE_IN_CONTAINER), "-w", WORKSPACE_IN_CONTAINER, "-e", `CLAUDEAUTH_TRUST_DIR=${WORKSPACE_IN_CONTAINER}`]
      : []),
    ...hostUserFlags(),
    ...(options.allowLogin ? ["-e", `CLAUDEAUTH_ALLOW_LOGIN=${options.allowLogin}`] : []),
    "-e", `CLAUDEAUTH_IMAGE=${image}`,
    ...env,
    ...volumes,
    ...start.flags,
    image,
    ...start.command,
  ];
  const result = await docker.stream(args, { container: name });
  return result.code;
}

/**
 * The workload runs with the host user's ids, so files it writes in the workspace are the
 * user's. Never as root: a root workload could read the store; root keeps the image's user.
 */
function hostUserFlags(): string[] {
  const [uid, gid] = [process.getuid?.() ?? 0, process.getgid?.() ?? 0];
  return uid === 0 ? [] : ["-e", `CLAUDEAUTH_UID=${uid}`, "-e", `CLAUDEAUTH_GID=${gid}`];
}

/**
 * `docker run` flags every production container gets (run, test, refresh): attached and
 * removed on exit, no json-file log (it would only be a copy on the engine's disk), the
 * network asked for, the hardening, the store, the working-copy tmpfs and the store owner;
 * its name and this host's, for the store's event log.
 */
export function productionRunFlags(ref: StoreRef, name: string, network: string | undefined, hardening: Hardening): string[] {
  return [
    "run", "--rm", "--name", name, "--label", `${PROFILE_LABEL}=${ref.profile}`, "--log-driver", "none",
    "-e", `CLAUDEAUTH_CONTAINER=${name}`, "-e", `CLAUDEAUTH_HOST=${os.hostname()}`,
    ...(network ? ["--network", network] : []),
    ...hardeningFlags(hardening),
    ...runtimeFlags(ref),
  ];
}

/** Store mount, working-copy tmpfs and store owner: what every production container gets. */
function runtimeFlags(ref: StoreRef): string[] {
  return [
    "--mount", storeMount(ref, DEFAULT_STORE_IN_CONTAINER),
    "--tmpfs", `${WORK_DIR_IN_CONTAINER}:mode=1777,size=256m`,
    "-e", `CLAUDEAUTH_WORK_DIR=${WORK_DIR_IN_CONTAINER}`,
    ...(ref.kind === "dir" ? ["-e", `CLAUDEAUTH_OWNER=${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`] : []),
  ];
}

/**
 * The store must exist: Docker would create a missing bind source as root, or a missing
 * volume empty, and the container would only say "not logged in".
 */
export async function requireStore(ref: StoreRef, docker: Docker): Promise<void> {
  const missing = () => new UserError(`not logged in: profile ${ref.profile} has no store at ${describeStore(ref)}; log in first with "${suggest("setup", ref)}"`);
  if (ref.kind === "volume") {
    const result = await docker.capture(["volume", "inspect", "--format", "{{.Name}}", ref.volume]);
    if (result.code === 0) return;
    if (/no such volume/i.test(result.stderr)) throw missing();
    throw docker.failure(`docker volume inspect ${ref.volume}`, result);
  }
  let stat: fs.Stats;
  try {
    stat = fs.statSync(ref.path);
  } catch {
    throw missing();
  }
  if (!stat.isDirectory()) throw new UserError(`the store ${ref.path} is not a directory`);
}

/** An existing directory that neither holds the store nor lies inside it (nor the hub directory). */
function checkWorkspace(dir: string, ref: StoreRef, given: boolean): string {
  const resolved = path.resolve(dir);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(resolved);
  } catch {
    throw new UserError(`the workspace ${resolved} does not exist: pass an existing directory with --workdir`, 125);
  }
  if (!stat.isDirectory()) throw new UserError(`the workspace ${resolved} is not a directory`, 125);
  const fix = given ? "pass --workdir with your project directory, or --no-workspace" : "cd into your project directory (or pass --workdir DIR, or --no-workspace)";
  refuseStoreExposure(protectedPlaces(ref), resolved, given ? "the --workdir" : "the workspace (the current directory)", fix);
  return resolved;
}
