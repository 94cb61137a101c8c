import { KubeApi } from "../../core/kubernetes/api";
import { isKubernetesAddress, parseKubernetesAddress } from "../../core/kubernetes/address";
import { KubernetesStore } from "../../core/kubernetes/store";
import { UserError } from "../../core/errors";
import { kubeconfigConnection } from "./kubeconfig";
import { reportStore } from "../../core/store-report";
import { analyze, type StoreStatus } from "./analyze";
import { DEFAULT_PROFILE, type StoreRef, type StoreSelection } from "./profile";

// A k8s:// store as the plugin sees it: reached with the user's kubeconfig, and shown by
// status through the same report as every store.

/** A Lease the plugin's own commits take (setup): as long as the pods' default. */
const LEASE_MS = 30_000;

export function isKubernetesSelection(selection: StoreSelection): boolean {
  return Boolean(selection.store && isKubernetesAddress(selection.store));
}

export function openKubernetesStore(selection: StoreSelection): KubernetesStore {
  if (selection.volume) throw new UserError("--store k8s://… and --store-volume cannot be used together: pick one", 125);
  const ref = parseKubernetesAddress(selection.store!);
  return new KubernetesStore(new KubeApi(kubeconfigConnection(selection)), ref, { leaseMs: LEASE_MS });
}

/** status of a Secret store: the core's report of it (read in memory: its tokens never reach this machine's disk), analyzed. */
export async function kubernetesStatus(selection: StoreSelection): Promise<StoreStatus> {
  const store = openKubernetesStore(selection);
  const ref: StoreRef = { kind: "dir", profile: selection.profile ?? DEFAULT_PROFILE, path: store.location, source: "--store" };
  return analyze(ref, await reportStore(store));
}
