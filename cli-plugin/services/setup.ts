import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { commit, copyCaptureInto, readCurrentIfValid } from "../../core/store";
import { DirStore } from "../../core/store-dir";
import { openKubernetesStore, type KubernetesRef } from "../stores/kubernetes";
import { UserError } from "../../core/errors";
import { log, print } from "../../core/output";
import { analyze, suggest, type StoreStatus } from "../stores/analyze";
import { containerName, hardeningFlags, type Docker, type Hardening } from "../engine/docker";
import { buildImages } from "./build";
import { imageExists, imageName } from "../engine/images";
import { importToken, validateToken } from "./long-lived";
import { describeStore, ensureStoreDir, PROFILE_LABEL, resolveAnyStore, type HostStoreRef, type StoreSelection } from "../stores/profile";
import { openBackend, readReport } from "../stores/backends";
import { blankSourceRefreshToken, readLoginSource } from "../stores/login-source";
import type { StoreReport } from "../../core/store-report";
import { withContainerStore } from "../stores/container-store";
import { readHelperBundle, refuseRemoteEngine } from "../stores/helper-store";
import { renderStatus } from "../stores/format";
import { interactiveFlags, stdio, TokenScanningRelay } from "../docker-cli/terminal";
import { envFlags, mountFlags, volumeProfile } from "../engine/passthrough";
import { networkAdvice, removeCreatedStore, storeExists, unreachableReason } from "./setup-aborted";

// setup: log in once in the setup image; its entrypoint captures the login into the
// store. Then read the store back and say what was captured (never a token).

export type SetupOptions = {
  selection: StoreSelection;
  /** The login command (after --); default: claude, or `claude setup-token` with longLived. */
  command: string[];
  noTty: boolean;
  network: string | undefined;
  longLived: boolean;
  tokenStdin: boolean;
  /** An existing login to import (a ~/.claude dir, a copy of it, a credentials file, "-" for stdin), and whether to blank its refresh token after. */
  from: string | undefined;
  move: boolean;
  image: string | undefined;
  caCert: string | undefined;
  env: string[];
  volumes: string[];
  mounts: string[];
  hardening: Hardening;
};

export async function setup(options: SetupOptions, docker: Docker): Promise<number> {
  const target = resolveAnyStore(options.selection);
  if (target.kind === "k8s") return setupKubernetes(target, options, docker);
  const ref = target;
  if (options.tokenStdin) return setupFromStdin(ref, docker, options.hardening);
  if (options.from !== undefined) return setupFrom(ref, options.from, options.move, docker);
  if (options.move) throw new UserError("--move goes with --from PATH: it blanks the source's refresh token after the import", 125);

  const io = stdio();
  const interactive = io.stdinTty && io.stdoutTty;
  if (!interactive && !options.noTty && options.command.length === 0) {
    throw new UserError(
      `setup needs a terminal for the interactive login: run it in a terminal, or pass --no-tty and a login command after "--"${options.longLived ? ", or use --token-stdin" : ""}`,
    );
  }
  const env = envFlags(options.env);
  const volumes = await mountFlags(options.volumes, options.mounts, ref, docker);
  const existed = await storeExists(ref, docker);
  await prepareStore(ref, docker);
  const image = await ensureSetupImage(docker, options);

  const tty = interactive && !options.noTty;
  const name = containerName("setup", ref.profile);
  let command = options.command;
  if (options.longLived) {
    if (command.length === 0) command = ["claude", "setup-token"];
    // Our stdout is a pipe (we read the token from it), so docker does not size the
    // container's terminal: make it wide, so that the token is printed on one line.
    if (tty) command = ["sh", "-c", 'stty cols 500 rows 50 2>/dev/null; exec "$@"', "sh", ...command];
  }
  const args = (store: string[]) => [
    // No json-file log: what the login prints (a long-lived token, too) stays on the terminal.
    "run", "--rm", "--name", name, "--label", `${PROFILE_LABEL}=${ref.profile}`, "--log-driver", "none",
    ...interactiveFlags(io, !options.noTty),
    ...(options.network ? ["--network", options.network] : []),
    ...hardeningFlags(options.hardening),
    ...store,
    ...env,
    ...volumes,
    image,
    ...command,
  ];

  const before = await readReport(ref, docker);
  if (!options.longLived) log.info(`starting the login in ${image} (profile ${ref.profile}, store ${describeStore(ref)}); exit the CLI when you are logged in`);
  const relay = options.longLived ? new TokenScanningRelay((text) => process.stdout.write(text)) : null;
  const result = await withContainerStore(ref, docker, (store) =>
    docker.stream(args(store), relay ? { container: name, onStdout: (chunk) => relay.push(chunk) } : { container: name }),
  );
  relay?.flush();

  if (relay) {
    const token = relay.token();
    if (!token) {
      throw new UserError(
        `no token found in the output of "${options.command.join(" ") || "claude setup-token"}" (exit code ${result.code}); run claude setup-token yourself and store its token with: ${suggest("setup --token-stdin", ref)}`,
      );
    }
    const generation = await importToken(ref, token, docker, "setup-token", options.hardening);
    log.info(`captured the long-lived token (capture ${generation})`);
  }

  if (result.code === 125 && !relay) {
    // Docker could not start the container (its message is above): nothing ran.
    log.error(`docker could not start the setup container${ref.kind === "dir" ? ` (on an engine on another machine, use --store-volume NAME instead of a host directory)` : ""}; "${suggest("doctor", ref)}" checks the engine, the images and the store`);
    return 125;
  }
  const after = await readReport(ref, docker);
  const status = analyze(ref, after);
  // Captures are numbered: a higher number than before the session is a new capture, made by
  // this session or, meanwhile, by a refresh or a run.
  const fresh = (after.generations[0] ?? 0) > (before.generations[0] ?? 0);
  const bySetup = fresh && status.capture?.source === "setup";
  const sameLogin = bySetup ? loginFingerprint(before) !== null && loginFingerprint(before) === loginFingerprint(after) : !fresh && result.code === 0;
  if (status.healthy && !options.longLived && before.generations.length > 0 && sameLogin) {
    // The setup container starts from the last capture: the same login (an unchanged one is
    // not captured again). Nothing went wrong, but nothing new happened either.
    print(`No new login: profile ${ref.profile} keeps its earlier login (capture #${status.capture?.generation}).\n${renderStatus(status, { files: false })}`);
    return 0;
  }
  if (fresh && !bySetup && !options.longLived) {
    // Its own capture, if any, is older than the store's newest: the entrypoint said above what it did.
    print(`Profile ${ref.profile} changed during the setup: its newest capture (#${after.generations[0]}) was made by ${status.capture?.source ?? "another writer"}.\n${renderStatus(status, { files: false })}`);
    return status.healthy ? 0 : 1;
  }
  if (fresh && status.healthy) {
    print(`Logged in: profile ${ref.profile} is ready.\n${renderStatus(status, { files: false })}`);
    return 0;
  }
  if (fresh) {
    print(renderStatus(status, { files: false }));
    return 1;
  }
  if (!status.capture && !existed) await removeCreatedStore(ref, docker);
  const unreachable = status.capture ? null : await unreachableReason({ image, network: options.network, env, volumes, hardening: options.hardening }, docker);
  if (unreachable !== null) {
    log.error(networkAdvice(unreachable, ref));
    return result.code !== 0 ? result.code : 1;
  }
  return reportIncomplete(status, ref, result.code);
}

/**
 * A k8s:// store: the login runs as for a host-dir store, into a private staging store on
 * this machine, and its capture is then committed to the Secret (compare-and-swap, under
 * the refresh Lease, which the first commit creates). The Secret is checked (reachable, ours,
 * readable) before the login starts; the staging store is removed, tokens and all.
 */
async function setupKubernetes(ref: KubernetesRef, options: SetupOptions, docker: Docker): Promise<number> {
  const store = openKubernetesStore(ref);
  await store.ensure();
  const staging = fs.mkdtempSync(path.join(os.tmpdir(), "claudeauth-k8s-setup-"));
  try {
    const code = await setup({ ...options, selection: { profile: options.selection.profile, store: staging } }, docker);
    const capture = await readCurrentIfValid(new DirStore(staging));
    if (!capture) return code === 0 ? 1 : code;
    const committed = await commit(store, (draft) => copyCaptureInto(capture, draft, undefined), { source: capture.meta.source, mode: capture.meta.mode });
    print(`Stored in ${store.location} (Secret ${store.ref.namespace}/${store.ref.name}, capture #${committed.generation}); pods use it with CLAUDEAUTH_STORE=${store.location} (examples/kubernetes/).`);
    return code;
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

/** The current capture's login digest (null: none), to tell a new login from the old one. */
function loginFingerprint(report: StoreReport): string | null {
  return report.current?.login ?? null;
}

function reportIncomplete(status: StoreStatus, ref: HostStoreRef, containerCode: number): number {
  const code = containerCode !== 0 ? containerCode : 1;
  if (status.capture && status.state !== "invalid") {
    log.warn(`the login did not complete; the earlier capture is kept (#${status.capture.generation} from ${status.capture.capturedAt ?? "an unknown time"})`);
    print(renderStatus(status, { files: false }));
    return code;
  }
  log.error(`the login did not complete: nothing was captured into ${describeStore(ref)}; run "${suggest("setup", ref)}" again and finish the login (/login in claude) before you exit`);
  return code;
}

async function setupFromStdin(ref: HostStoreRef, docker: Docker, hardening: Hardening): Promise<number> {
  if (process.stdin.isTTY) log.info("paste the token from `claude setup-token`, then press Enter and Ctrl-D");
  const token = validateToken(await readStdin());
  // A volume is created with its profile label, as for a login: a store volume is known by it.
  await prepareStore(ref, docker);
  const generation = await importToken(ref, token, docker, "token-stdin", hardening);
  log.info(`stored the long-lived token in ${describeStore(ref)} (capture ${generation})`);
  const status = analyze(ref, await readReport(ref, docker));
  print(renderStatus(status, { files: false }));
  return status.healthy ? 0 : 1;
}

/**
 * Imports an existing login, by compare-and-swap against the capture seen first. The source
 * and the store then hold one token family: whichever refreshes first spends the refresh
 * token the other holds, so --move blanks the source's (after the commit, never before).
 */
async function setupFrom(ref: HostStoreRef, from: string, move: boolean, docker: Docker): Promise<number> {
  const source = await readLoginSource(from, readStdin);
  if (move && !source.credentialsFile) throw new UserError("--move needs a file to blank the refresh token in: stdin has none (log out of the source yourself)", 125);
  await prepareStore(ref, docker);
  const backend = openBackend(ref, docker);
  const before = await backend.report();
  const generation = await backend.importLogin(source.files, "import", before.current?.generation ?? null);
  log.info(`imported the login from ${source.what} into ${describeStore(ref)} (capture ${generation})`);
  if (move) {
    blankSourceRefreshToken(source);
    log.info(`blanked the refresh token in ${source.credentialsFile}: only the store can renew this login now`);
  } else {
    log.warn(`${source.what} and the store now share one token family: whichever refreshes first makes the other's refresh token useless; use --move to blank the source's, or log in afresh with "${suggest("setup", ref)}"`);
  }
  const status = analyze(ref, await backend.report());
  print(renderStatus(status, { files: false }));
  return status.healthy ? 0 : 1;
}

function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    process.stdin.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > 64 * 1024) {
        process.stdin.destroy();
        reject(new UserError("stdin holds more than 64 KiB: give only the token"));
        return;
      }
      chunks.push(chunk);
    });
    process.stdin.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    process.stdin.on("error", reject);
  });
}

export async function prepareStore(ref: HostStoreRef, docker: Docker): Promise<void> {
  if (ref.kind === "dir") {
    ensureStoreDir(ref);
    return;
  }
  if (ref.kind === "helper") {
    // A missing helper, a locked keychain or a GPG key that is not there shows now, before the login.
    await refuseRemoteEngine(ref, docker);
    await readHelperBundle(ref);
    return;
  }
  const inspect = await docker.capture(["volume", "inspect", "--format", "{{.Name}}", ref.volume]);
  if (inspect.code === 0) {
    if (!(await volumeProfile(ref.volume, docker))) refuseForeignVolume(ref, await readReport(ref, docker));
    return;
  }
  if (!/no such volume/i.test(inspect.stderr)) throw docker.failure(`docker volume inspect ${ref.volume}`, inspect);
  await docker.output(["volume", "create", "--label", `${PROFILE_LABEL}=${ref.profile}`, ref.volume], `docker volume create ${ref.volume}`);
  log.info(`created volume ${ref.volume} for profile ${ref.profile}`);
}

/**
 * A volume the plugin did not create (no profile label) becomes a store only if it is
 * empty or already one: the entrypoint would make its root 0700 and add captures/.
 */
function refuseForeignVolume(ref: HostStoreRef, report: StoreReport): void {
  const top = report.files.filter((entry) => entry.path !== "." && !entry.path.includes("/"));
  if (top.length === 0 || top.some((entry) => entry.path === "captures" && entry.type === "dir")) return;
  throw new UserError(
    `refusing to use ${describeStore(ref)} as a store: it holds other files (${top.length} entries) and no captures/; pick a new volume name with --store-volume (it is left as it was)`,
    125,
  );
}

async function ensureSetupImage(docker: Docker, options: SetupOptions): Promise<string> {
  const image = imageName("setup", options.image);
  if (await imageExists(docker, image)) return image;
  if (options.image || process.env.CLAUDEAUTH_SETUP_IMAGE) throw new UserError(`the setup image ${image} does not exist: build or pull it first`);
  log.info(`the setup image ${image} is missing: building it first`);
  const code = await buildImages(docker, { only: "setup", caCert: options.caCert, buildArgs: [], network: options.network, noCache: false, quiet: false });
  if (code !== 0) throw new UserError(`building ${image} failed (exit code ${code}); behind a TLS-intercepting proxy pass its CA: docker claudeauth build --ca-cert FILE`);
  return image;
}
