import { DirStore } from "../../core/store-dir";
import { emptyReport, reportStore, type StoreReport } from "../../core/store-report";
import { importLogin, importRequest, logout, type LoginFiles } from "../../core/store-login";
import { UserError } from "../../core/errors";
import { DEFAULT_STORE_IN_CONTAINER } from "../../core/layout";
import { swarmSecretFiles, type SwarmSecretFiles } from "../../core/swarm-secret";
import { DEFAULT_HARDENING, hardeningFlags, type Docker } from "../engine/docker";
import { imageExists, imageName, OWN_IMAGE_ENTRYPOINT, requireImage } from "../engine/images";
import { describeStore, ensureStoreDir, PROFILE_LABEL, resolveStore, storeMount, type StoreRef } from "./profile";

// A store as the plugin sees it, whatever its backend: what it holds (a report, never a
// token), a login handed in (setup --from), logout, removal. A host directory is worked on
// in-process through the core (the plugin is its owner); a Docker volume through the
// entrypoint in a throw-away container (no network, hardened; read-only to inspect), which
// runs the same core. Another backend adds its StoreRef kind, a case in openBackend, and a
// finder in PROFILE_STORE_FINDERS (for profile rm and logout).

/** Where a Claude subscription login made for Claude Code is revoked (Anthropic's help: "How do I log out of all active sessions?"). */
export const REVOKE_WHERE = "open claude.ai → Settings → Claude Code and delete its token (the trash-can icon)";

export interface StoreBackend {
  readonly ref: StoreRef;
  report(): Promise<StoreReport>;
  /** Commits a login by compare-and-swap against the generation the caller saw (null: empty); returns the new generation. */
  importLogin(files: LoginFiles, source: string, expectedGeneration: number | null): Promise<number>;
  /** Removes the login, keeping the settings; the generation of the logged-out capture, null if there was no login. */
  logout(): Promise<number | null>;
  remove(): Promise<void>;
}

export function openBackend(ref: StoreRef, docker: Docker): StoreBackend {
  switch (ref.kind) {
    case "dir":
      return dirBackend(ref);
    case "volume":
      return volumeBackend(ref, docker);
  }
}

/** The report of a store (status, doctor, refresh, setup). */
export function readReport(ref: StoreRef, docker: Docker): Promise<StoreReport> {
  return openBackend(ref, docker).report();
}

/**
 * The current capture's auth files for a Swarm secret (the plugin's only read of tokens): a host
 * directory through the core in-process, a volume through the entrypoint's swarm-secret mode,
 * whose stdout is kept in memory and goes on to docker secret create's stdin, never to a disk.
 */
export async function readSwarmSecretFiles(ref: StoreRef, docker: Docker, includeRefreshToken: boolean): Promise<SwarmSecretFiles> {
  switch (ref.kind) {
    case "dir": {
      const store = new DirStore(ref.path, undefined, { quiet: true });
      const capture = await store.readCurrent();
      if (!capture || capture.meta.mode === "logged-out") throw new UserError(`${describeStore(ref)} holds no login`);
      return swarmSecretFiles(capture, includeRefreshToken);
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

function dirBackend(ref: StoreRef & { kind: "dir" }): StoreBackend {
  // The plugin runs as the store's owner: what it writes is the user's, as the entrypoint's --owner would make it.
  const owner = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  return {
    ref,
    report: () => reportStore(new DirStore(ref.path, undefined, { quiet: true })),
    importLogin: async (files, source, expectedGeneration) => {
      ensureStoreDir(ref);
      return (await importLogin(new DirStore(ref.path, owner), files, source, expectedGeneration)).generation;
    },
    logout: async () => (await logout(new DirStore(ref.path, owner)))?.generation ?? null,
    remove: () => new DirStore(ref.path).remove(),
  };
}

function volumeBackend(ref: StoreRef & { kind: "volume" }, docker: Docker): StoreBackend {
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

async function volumeExists(ref: StoreRef & { kind: "volume" }, docker: Docker): Promise<boolean> {
  const listed = await docker.capture(["volume", "ls", "--quiet", "--filter", `name=^${ref.volume}$`]);
  if (listed.code !== 0) throw docker.failure("docker volume ls", listed);
  return listed.stdout.split("\n").map((l) => l.trim()).includes(ref.volume);
}

/** Runs one entrypoint mode on a volume store and returns the JSON line it prints; its error line, if it fails. */
/** The entrypoint modes the plugin runs on a volume, and what each does, for its error line. */
const DOING = { inspect: "read", import: "store the login in", logout: "log out of", "swarm-secret": "read the capture of" } as const;

async function entrypointJson<T>(ref: StoreRef & { kind: "volume" }, docker: Docker, mode: keyof typeof DOING, options: { readonly?: boolean; input?: string; flags?: string[] }): Promise<T> {
  const image = await anyImage(docker);
  const result = await docker.capture(
    [
      "run", "--rm", ...(options.input !== undefined ? ["-i"] : []), "--network", "none", "--log-driver", "none", ...hardeningFlags(DEFAULT_HARDENING),
      "--mount", storeMount(ref, DEFAULT_STORE_IN_CONTAINER, options.readonly),
      "--entrypoint", OWN_IMAGE_ENTRYPOINT, image, mode, "--store", DEFAULT_STORE_IN_CONTAINER, ...(options.flags ?? []),
    ],
    options.input !== undefined ? { input: options.input } : {},
  );
  const line = result.stdout.trim().split("\n").pop() ?? "";
  if (result.code !== 0 || !line.startsWith("{")) {
    const why = result.stderr.trim().split("\n").pop()?.replace(/^claudeauth: (error: )?/, "") || `exit code ${result.code}`;
    throw new UserError(`cannot ${DOING[mode]} ${describeStore(ref)}: ${why}`);
  }
  return JSON.parse(line) as T;
}

/** Either image holds the entrypoint: the production one, else the setup one. */
async function anyImage(docker: Docker): Promise<string> {
  const setup = imageName("setup");
  if (!(await imageExists(docker, imageName("run"))) && (await imageExists(docker, setup))) return setup;
  return requireImage(docker, "run");
}
