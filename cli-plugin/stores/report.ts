import { DirStore } from "../../core/store-dir";
import { reportStore, type StoreReport } from "../../core/store-report";
import { UserError } from "../../core/errors";
import { DEFAULT_STORE_IN_CONTAINER } from "../../core/layout";
import { DEFAULT_HARDENING, hardeningFlags, type Docker } from "../engine/docker";
import { imageExists, imageName, OWN_IMAGE_ENTRYPOINT, requireImage } from "../engine/images";
import { describeStore, storeMount, type StoreRef } from "./profile";

// What a store holds (core/store-report.ts), read without changing it: a host directory
// in-process through the core; a volume by the entrypoint's `inspect` mode in a throw-away
// container (read-only mount, no network, hardened), whose one line of JSON is the report.

export async function readReport(ref: StoreRef, docker: Docker): Promise<StoreReport> {
  return ref.kind === "dir" ? readHostReport(ref) : readVolumeReport(ref, docker);
}

export function readHostReport(ref: StoreRef & { kind: "dir" }): Promise<StoreReport> {
  return reportStore(new DirStore(ref.path, undefined, { quiet: true }));
}

export async function readVolumeReport(ref: StoreRef & { kind: "volume" }, docker: Docker): Promise<StoreReport> {
  const listed = await docker.capture(["volume", "ls", "--quiet", "--filter", `name=^${ref.volume}$`]);
  if (listed.code !== 0) throw docker.failure("docker volume ls", listed);
  if (!listed.stdout.split("\n").map((l) => l.trim()).includes(ref.volume)) {
    return { schema: 1, location: describeStore(ref), exists: false, files: [], unreadable: [], claudeLayout: null, generations: [], rescue: false, problem: null, current: null };
  }
  const image = await anyImage(docker);
  const result = await docker.capture([
    "run", "--rm", "--network", "none", "--log-driver", "none", ...hardeningFlags(DEFAULT_HARDENING),
    "--mount", storeMount(ref, DEFAULT_STORE_IN_CONTAINER, true),
    "--entrypoint", OWN_IMAGE_ENTRYPOINT, image, "inspect", "--store", DEFAULT_STORE_IN_CONTAINER,
  ]);
  const line = result.stdout.trim().split("\n").pop() ?? "";
  if (result.code !== 0 || !line.startsWith("{")) {
    const why = result.stderr.trim().split("\n").pop()?.replace(/^claudeauth: (error: )?/, "") || `exit code ${result.code}`;
    throw new UserError(`cannot read ${describeStore(ref)}: ${why}`);
  }
  const report = JSON.parse(line) as StoreReport;
  return { ...report, location: describeStore(ref) };
}

/** Either image holds the entrypoint: the production one, else the setup one. */
async function anyImage(docker: Docker): Promise<string> {
  const setup = imageName("setup");
  if (!(await imageExists(docker, imageName("run"))) && (await imageExists(docker, setup))) return setup;
  return requireImage(docker, "run");
}
