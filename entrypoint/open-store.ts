import fs from "node:fs";
import { UserError } from "../core/errors";
import type { Owner } from "../core/safe-fs";
import type { Store } from "../core/store";
import { DirStore } from "../core/store-dir";
import { parseStoreAddress } from "../core/store-address";
import { ChannelStore, HELPER_MIRROR } from "./channel-store";
import { KubeApi } from "../core/kubernetes/api";
import { KubernetesStore } from "../core/kubernetes/store";
import { inClusterConnection } from "./in-cluster";

/** The host user who owns the store: given as "uid:gid", else whoever owns the store dir now. */
function resolveOwner(spec: string | undefined, storeDir: string): Owner {
  if (spec) {
    const match = /^(\d+):(\d+)$/.exec(spec);
    if (!match) throw new UserError(`--owner must be UID:GID (e.g. 1000:1000), got "${spec}"`, 125);
    return { uid: Number(match[1]), gid: Number(match[2]) };
  }
  try {
    const stat = fs.statSync(storeDir);
    return { uid: stat.uid, gid: stat.gid };
  } catch {
    return { uid: process.getuid!(), gid: process.getgid!() };
  }
}

/** How long a k8s:// store's refresh Lease lasts unrenewed, and where its captures are unpacked. */
export type RemoteStoreOptions = { lockStaleMs: number; workDir: string; channel: string | undefined };

/**
 * The store at `address` (--store): the backend its address names. A directory store writes
 * files as its owner; a helper: store is reached through the plugin's channel; a k8s:// store is reached as the pod's service account and unpacks its
 * captures on the work dir's tmpfs, in a new root-only directory.
 */
export function openStore(address: string, ownerSpec: string | undefined, remote: RemoteStoreOptions): Store {
  const parsed = parseStoreAddress(address);
  switch (parsed.kind) {
    case "dir":
      return new DirStore(parsed.path, resolveOwner(ownerSpec, parsed.path));
    case "helper":
      if (!parsed.name || !remote.channel) {
        throw new UserError(`the store ${address} is reached through the plugin: start this container with docker claudeauth (--store helper:NAME), which sets CLAUDEAUTH_CHANNEL`, 125);
      }
      return new ChannelStore(parsed.name, remote.channel, HELPER_MIRROR);
    case "k8s":
      return new KubernetesStore(new KubeApi(inClusterConnection()), parsed, { leaseMs: remote.lockStaleMs, scratchParent: remote.workDir });
  }
}
