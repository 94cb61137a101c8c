import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { UserError } from "../../core/errors";
import { log } from "../../core/output";
import { workloadUser, workloadUserFlags } from "./workload-user";
import { suggest } from "../stores/analyze";
import { containerName, hardeningFlags, type Docker, type Hardening } from "../engine/docker";
import { productionStart, requireImage } from "../engine/images";
import { envFlags, mountFlags } from "../engine/passthrough";
import {
  bindMount, describeStore, PROFILE_LABEL, protectedPlaces, refuseStoreExposure, resolveStore, type HostStoreRef, type StoreSelection,
} from "../stores/profile";
import { withContainerStore } from "../stores/container-store";
import { readHelperBundle, refuseRemoteEngine } from "../stores/helper-store";
import { interactiveFlags, stdio } from "../docker-cli/terminal";

// run: the production image with the store mounted where the entrypoint expects it, a
// tmpfs for the per-run working copy, the workspace at /workspace, the workload's ids
// (workload-user.ts: files it writes in the workspace get the right owner), the command.
// No secret is ever on this command line: the entrypoint reads the store.

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
  /** --user UID[:GID]; default: workload-user.ts. */
  user: string | undefined;
  /** CLAUDEAUTH_ALLOW_LOGIN for the entrypoint: "1" (same account) or "any-account". */
  allowLogin: "1" | "any-account" | undefined;
};

export async function run(options: RunOptions, docker: Docker): Promise<number> {
  const ref = resolveStore(options.selection);
  const env = envFlags(options.env, "docker claudeauth run");
  await requireStore(ref, docker);
  const workspace = options.noWorkspace ? null : checkWorkspace(options.workdir ?? process.cwd(), ref, options.workdir !== undefined);
  const user = workloadUser(options.user, workspace);
  if (user.warning) log.warn(user.warning);
  const volumes = await mountFlags(options.volumes, options.mounts, ref, docker);
  const image = await requireImage(docker, "run", options.image);
  const start = await productionStart(docker, image, options.command);
  const name = options.name ?? containerName("run", ref.profile);
  const args = (store: string[]) => [
    ...productionRunFlags(ref, name, options.network, options.hardening, store),
    ...interactiveFlags(stdio(), !options.noTty),
    ...(workspace
      ? ["--mount", bindMount(workspace, WORKSPACE_IN_CONTAINER), "-w", WORKSPACE_IN_CONTAINER, "-e", `CLAUDEAUTH_TRUST_DIR=${WORKSPACE_IN_CONTAINER}`]
      : []),
    ...workloadUserFlags(user),
    ...(options.allowLogin ? ["-e", `CLAUDEAUTH_ALLOW_LOGIN=${options.allowLogin}`] : []),
    "-e", `CLAUDEAUTH_IMAGE=${image}`,
    ...env,
    ...volumes,
    ...start.flags,
    image,
    ...start.command,
  ];
  const result = await withContainerStore(ref, docker, (store) => docker.stream(args(store), { container: name }));
  return result.code;
}

/**
 * `docker run` flags every production container gets (run, test, refresh): attached and
 * removed on exit, no json-file log (it would only be a copy on the engine's disk), the
 * network asked for, the hardening, the store's flags (stores/container-store.ts) and the
 * working-copy tmpfs; its name and this host's, for the store's event log.
 */
export function productionRunFlags(ref: HostStoreRef, name: string, network: string | undefined, hardening: Hardening, store: string[]): string[] {
  return [
    "run", "--rm", "--name", name, "--label", `${PROFILE_LABEL}=${ref.profile}`, "--log-driver", "none",
    "-e", `CLAUDEAUTH_CONTAINER=${name}`, "-e", `CLAUDEAUTH_HOST=${os.hostname()}`,
    ...(network ? ["--network", network] : []),
    ...hardeningFlags(hardening),
    ...store,
    "--tmpfs", `${WORK_DIR_IN_CONTAINER}:mode=1777,size=256m`,
    "-e", `CLAUDEAUTH_WORK_DIR=${WORK_DIR_IN_CONTAINER}`,
  ];
}

/**
 * The store must exist: Docker would create a missing bind source as root, or a missing
 * volume empty, and the container would only say "not logged in".
 */
export async function requireStore(ref: HostStoreRef, docker: Docker): Promise<void> {
  const missing = () => new UserError(`not logged in: profile ${ref.profile} has no store at ${describeStore(ref)}; log in first with "${suggest("setup", ref)}"`);
  if (ref.kind === "helper") {
    // Also where a missing helper, a locked keychain or an unusable GPG key shows, before any container.
    await refuseRemoteEngine(ref, docker);
    if (!(await readHelperBundle(ref))) throw missing();
    return;
  }
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
function checkWorkspace(dir: string, ref: HostStoreRef, given: boolean): string {
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
