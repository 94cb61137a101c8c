import { DEFAULT_STORE_IN_CONTAINER } from "../../core/layout";
import type { Docker } from "../engine/docker";
import { helperContainerStore, type ContainerStore } from "./helper-store";
import { storeMount, type HostStoreRef } from "./profile";

/**
 * How a container reaches the profile's store at the entrypoint's path: a bind mount of the
 * host dir (files written as the host user), the volume, or, for a credential helper, the
 * plugin's channel (finish() closes it once the container is gone).
 */
export async function containerStore(ref: HostStoreRef, docker: Docker): Promise<ContainerStore> {
  if (ref.kind === "helper") return helperContainerStore(ref, docker);
  return {
    flags: [
      "--mount", storeMount(ref, DEFAULT_STORE_IN_CONTAINER),
      ...(ref.kind === "dir" ? ["-e", `CLAUDEAUTH_OWNER=${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`] : []),
    ],
    finish: async () => undefined,
  };
}

/** Runs `start` (a `docker run`) with the store's container flags, and finishes the store after it. */
export async function withContainerStore<T>(ref: HostStoreRef, docker: Docker, start: (flags: string[]) => Promise<T>): Promise<T> {
  const store = await containerStore(ref, docker);
  try {
    return await start(store.flags);
  } finally {
    await store.finish();
  }
}
