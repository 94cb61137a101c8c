import fs from "node:fs";
import { KubeApi } from "../../core/kubernetes/api";
import { parseKubernetesAddress } from "../../core/kubernetes/address";
import { KubernetesStore } from "../../core/kubernetes/store";
import { kubeconfigConnection } from "./kubeconfig";
import type { StoreRef } from "./profile";

// A k8s:// store as the plugin sees it: reached with the user's kubeconfig (--kubeconfig,
// --context, KUBECONFIG), read, refreshed and committed in-process through the core, as pods
// do with their service account. Its captures are unpacked in a private directory on
// /dev/shm where there is one (memory: the tokens do not reach this machine's disk), removed
// when the plugin exits.

export type KubernetesRef = StoreRef & { kind: "k8s" };

/** A Lease the plugin's own commits and refreshes take: as long as the pods' default. */
const LEASE_MS = 30_000;
const SHM = "/dev/shm";

export function openKubernetesStore(ref: KubernetesRef): KubernetesStore {
  return new KubernetesStore(new KubeApi(kubeconfigConnection(ref)), parseKubernetesAddress(ref.address), {
    leaseMs: LEASE_MS,
    ...(fs.existsSync(SHM) ? { scratchParent: SHM } : {}),
  });
}
