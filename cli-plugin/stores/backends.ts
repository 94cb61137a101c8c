import { DirStore } from "../../core/store-dir";
import { emptyReport, reportStore, type StoreReport } from "../../core/store-report";
import { importLogin, importRequest, logout, type LoginFiles } from "../../core/store-login";
import { errorMessage, UserError } from "../../core/errors";
import { recordEvent } from "../../core/events";
import { log } from "../../core/output";
import { DEFAULT_STORE_IN_CONTAINER } from "../../core/layout";
import { captureDirReader, swarmSecretFiles, type SwarmSecretFiles } from "../../core/swarm-secret";
import { bundleText } from "../../core/capture-bundle";
import { readCaptureFiles } from "../../core/store";
import { DEFAULT_HARDENING, hardeningFlags, type Docker } from "../engine/docker";
import { imageExists, imageName, OWN_IMAGE_ENTRYPOINT, requireImage } from "../engine/images";
import { describeStore, ensureStoreDir, PROFILE_LABEL, resolveStore, storeMount, type HostStoreRef, type StoreRef } from "./profile";
import { openKubernetesStore } from "./kubernetes";
import { withContainerStore } from "./container-store";
import { configuredHelper, CredentialHelper } from "./credential-helper";
import { logoutHelper, readHelperBundle, readHelperReport, removeHelperEntry } from "./helper-store";

// A store as the plugin sees it, whatever its backend: what it holds (a report, never a
// token), a login handed in (setup --from), logout, removal. A host directory is worked on
// in-process through the core (the plugin is its owner); a Docker volume through the
// entrypoint in a throw-away container (no network, hardened; read-only to inspect), which
// runs the same core; a credential helper's entry in-process, in memory, and through the
// plugin's channel for an import. Another backend adds its StoreRef kind, a case in
// openBackend, and a finder in PROFILE_STORE_FINDERS (for profile rm and logout). A k8s://
// store is only read here (readReport); setup and refresh commit to it in-process
// (stores/kubernetes.ts), and the commands that give a store to a container refuse it.

/** Where a Claude subscription login made for Claude Code is revoked (Anthropic's help: "How do I log out of all active sessions?"). */
export const REVOKE_WHERE = "open claude.ai → Settings → Claude Code and delete its token (the trash-can icon)";

export interface StoreBackend {
  readonly ref: HostStoreRef;
  report(): Promise<StoreReport>;
  /** Commits a login by compare-and-swap against the generation the caller saw (null: empty); returns the new generation. */
  importLogin(files: LoginFiles, source: string, expectedGeneration: number | null): Promise<number>;
  /** Removes the login, keeping the settings; the generation of the logged-out capture, null if there was no login. */
  logout(): Promise<number | null>;
  remove(): Promise<void>;
}

export function openBackend(ref: HostStoreRef, docker: Docker): StoreBackend {
  switch (ref.kind) {
    case "dir":
      return dirBackend(ref);
    case "volume":
      return volumeBackend(ref, docker);
    case "helper":
      return helperBackend(ref, docker);
  }
}

/** The report of a store (status, doctor, refresh, setup); a k8s:// store's is read in-process with the kubeconfig. */
export function readReport(ref: StoreRef, docker: Docker): Promise<StoreReport> {
  return ref.kind === "k8s" ? reportStore(openKubernetesStore(ref)) : openBackend(ref, docker).report();
}

/**
 * The current capture's auth files for a Swarm secret (the plugin's only read of tokens): a host
 * directory through the core in-process, a helper's entry in memory, a volume through the
 * entrypoint's swarm-secret mode, whose stdout is kept in memory for docker secret create's stdin.
 */
export async function readSwarmSecretFiles(ref: HostStoreRef, docker: Docker, includeRefreshToken: boolean): Promise<SwarmSecretFiles> {
  const noLogin = () => new UserError(`${describeStore(ref)} holds no login`);
  switch (ref.kind) {
    case "dir": {
      const capture = await new DirStore(ref.path, undefined, { quiet: true }).readCurrent();
      if (!capture || capture.meta.mode === "logged-out") throw noLogin();
      return swarmSecretFiles(capture, includeRefreshToken, captureDirReader(capture));
    }
    case "helper": {
      const bundle = await readHelperBundle(ref);
      if (!bundle) throw noLogin();
      const read = (name: string) => bundleText(bundle, name);
      const capture = readCaptureFiles(read, bundle.generation);
      if (capture.meta.mode === "logged-out") throw noLogin();
      return swarmSecretFiles(capture, includeRefreshToken, read);
    }
    case "volume":
      return entrypointJson<SwarmSecretFiles>(ref, docker, "swarm-secret", { readonly: true, flags: includeRefreshToken ? ["--include-refresh-token"] : [] });
  }
}

/** Finds stores of a profile; a UserError says where it could not look. */
type Finder = (profile: string, docker: Docker) => Promise<StoreBackend[]>;

export const PROFILE_STORE_FINDERS: Finder[] = [
  async (profile) => {
    const ref = resolveStore({ profile });
    return ref.kind === "dir" && (await dirBackend(ref).report()).exists ? [dirBackend(ref)] : [];
  },
  async (profile, docker) => {
    const listed = await docker.capture(["volume", "ls", "--quiet", "--filter", `label=${PROFILE_LABEL}=${profile}`]);
    if (listed.code !== 0) throw new UserError(`volumes of profile ${profile} were not looked for: ${docker.failure("docker volume ls", listed).message}`);
    return listed.stdout.split("\n").map((l) => l.trim()).filter(Boolean).map((volume) => volumeBackend({ kind: "volume", profile, volume }, docker));
  },
  // The helper of the Docker config (credsStore), if it holds an entry for the profile.
  async (profile, docker) => {
    let ref: HostStoreRef & { kind: "helper" };
    try {
      ref = { kind: "helper", profile, helper: configuredHelper(), configured: true };
    } catch {
      return []; // no credsStore: no helper to look in
    }
    try {
      return (await new CredentialHelper(ref.helper).list()).includes(profile) ? [helperBackend(ref, docker)] : [];
    } catch (error) {
      log.warn(`${describeStore(ref)} not looked in: ${errorMessage(error)}`);
      return [];
    }
  },
];

/** Every store of a profile (profile rm), and where no finder could look (an engine out of reach). */
export async function storesOfProfile(profile: string, docker: Docker): Promise<{ stores: StoreBackend[]; unsearched: string[] }> {
  const unsearched: string[] = [];
  const found = await Promise.all(
    PROFILE_STORE_FINDERS.map((find) =>
      find(profile, docker).catch((error: unknown) => {
        if (!(error instanceof UserError)) throw error;
        unsearched.push(error.message);
        return [];
      }),
    ),
  );
  return { stores: found.flat(), unsearched };
}

function dirBackend(ref: HostStoreRef & { kind: "dir" }): StoreBackend {
  // The plugin runs as the store's owner: what it writes is the user's, as the entrypoint's --owner would make it.
  const owner = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  return {
    ref,
    report: () => reportStore(new DirStore(ref.path, undefined, { quiet: true })),
    importLogin: async (files, source, expectedGeneration) => {
      ensureStoreDir(ref);
      const store = new DirStore(ref.path, owner);
      const { generation } = await importLogin(store, files, source, expectedGeneration);
      await recordEvent(store, { by: "plugin", kind: "import", outcome: "login", generation, detail: "a login handed in (setup --from)" });
      return generation;
    },
    logout: async () => {
      const store = new DirStore(ref.path, owner);
      const out = await logout(store);
      if (out) await recordEvent(store, { by: "plugin", kind: "logout", generation: out.generation, detail: "the login was removed; the settings are kept" });
      return out?.generation ?? null;
    },
    remove: () => new DirStore(ref.path).remove(),
  };
}

function volumeBackend(ref: HostStoreRef & { kind: "volume" }, docker: Docker): StoreBackend {
  return {
    ref,
    report: async () => {
      if (!(await volumeExists(ref, docker))) return emptyReport(describeStore(ref));
      return { ...(await entrypointJson<StoreReport>(ref, docker, "inspect", { readonly: true })), location: describeStore(ref) };
    },
    importLogin: async (files, source, expectedGeneration) => {
      const input = importRequest(files, source, expectedGeneration);
      return (await entrypointJson<{ generation: number }>(ref, docker, "import", { input })).generation;
    },
    logout: async () => {
      if (!(await volumeExists(ref, docker))) return null;
      return (await entrypointJson<{ generation: number | null }>(ref, docker, "logout", {})).generation;
    },
    remove: async () => {
      await docker.output(["volume", "rm", ref.volume], `docker volume rm ${ref.volume}`);
    },
  };
}

async function volumeExists(ref: HostStoreRef & { kind: "volume" }, docker: Docker): Promise<boolean> {
  const listed = await docker.capture(["volume", "ls", "--quiet", "--filter", `name=^${ref.volume}$`]);
  if (listed.code !== 0) throw docker.failure("docker volume ls", listed);
  return listed.stdout.split("\n").map((l) => l.trim()).includes(ref.volume);
}

/** The entrypoint modes the plugin runs in a container, and what each does, for its error line. */
const DOING = { inspect: "read", import: "store the login in", logout: "log out of", "swarm-secret": "read the capture of" } as const;

/** Runs one entrypoint mode on a volume store and returns the JSON line it prints; its error line, if it fails. */
async function entrypointJson<T>(ref: HostStoreRef & { kind: "volume" | "helper" }, docker: Docker, mode: keyof typeof DOING, options: { readonly?: boolean; input?: string; flags?: string[] }): Promise<T> {
  const image = await anyImage(docker);
  const start = (store: string[]) =>
    docker.capture(
      [
        "run", "--rm", ...(options.input !== undefined ? ["-i"] : []), "--network", "none", "--log-driver", "none", ...hardeningFlags(DEFAULT_HARDENING),
        ...store,
        "--entrypoint", OWN_IMAGE_ENTRYPOINT, image, mode, ...(options.flags ?? []),
      ],
      options.input !== undefined ? { input: options.input } : {},
    );
  // A helper's store reaches the entrypoint through the plugin's channel (its flags set CLAUDEAUTH_STORE=helper:NAME).
  const result =
    ref.kind === "helper" ? await withContainerStore(ref, docker, start) : await start(["--mount", storeMount(ref, DEFAULT_STORE_IN_CONTAINER, options.readonly)]);
  const line = result.stdout.trim().split("\n").pop() ?? "";
  if (result.code !== 0 || !line.startsWith("{")) {
    const why = result.stderr.trim().split("\n").pop()?.replace(/^claudeauth: (error: )?/, "") || `exit code ${result.code}`;
    throw new UserError(`cannot ${DOING[mode]} ${describeStore(ref)}: ${why}`);
  }
  return JSON.parse(line) as T;
}

/**
 * A store in a credential helper: read and logged out in-process, in memory (helper-store.ts);
 * a login handed in goes through the entrypoint's import mode over the plugin's channel, so it
 * is validated and committed by the same core as every other store, and never written to a disk.
 */
function helperBackend(ref: HostStoreRef & { kind: "helper" }, docker: Docker): StoreBackend {
  return {
    ref,
    report: () => readHelperReport(ref),
    importLogin: async (files, source, expectedGeneration) =>
      (await entrypointJson<{ generation: number }>(ref, docker, "import", { input: importRequest(files, source, expectedGeneration) })).generation,
    logout: () => logoutHelper(ref),
    remove: async () => void (await removeHelperEntry(ref)),
  };
}

/** Either image holds the entrypoint: the production one, else the setup one. */
async function anyImage(docker: Docker): Promise<string> {
  const setup = imageName("setup");
  if (!(await imageExists(docker, imageName("run"))) && (await imageExists(docker, setup))) return setup;
  return requireImage(docker, "run");
}
