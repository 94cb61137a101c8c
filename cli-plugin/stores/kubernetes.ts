import { generationName } from "../../core/layout";
import { KubeApi } from "../../core/kubernetes/api";
import { isKubernetesAddress, parseKubernetesAddress } from "../../core/kubernetes/address";
import { KubernetesStore } from "../../core/kubernetes/store";
import { decodeCapture } from "../../core/kubernetes/pack";
import { UserError } from "../../core/errors";
import { kubeconfigConnection } from "./kubeconfig";
import { AUTH_FILES, type Entry, type Snapshot } from "./snapshot";
import { DEFAULT_PROFILE, type StoreRef, type StoreSelection } from "./profile";

// A k8s:// store as the plugin sees it: reached with the user's kubeconfig, and shown by
// status as a directory store with one capture would be (the Secret's data, in memory: its
// tokens are never written to this machine's disk).

/** A Lease the plugin's own commits take (setup): as long as the pods' default. */
const LEASE_MS = 30_000;

export function isKubernetesSelection(selection: StoreSelection): boolean {
  return Boolean(selection.store && isKubernetesAddress(selection.store));
}

export function openKubernetesStore(selection: StoreSelection): KubernetesStore {
  if (selection.volume) throw new UserError("--store k8s://… and --volume cannot be used together: pick one", 125);
  const ref = parseKubernetesAddress(selection.store!);
  return new KubernetesStore(new KubeApi(kubeconfigConnection(selection)), ref, { leaseMs: LEASE_MS });
}

/** The status view of a Secret store: its one capture laid out as captures/NNNNNNNN/, private, ours. */
export async function kubernetesSnapshot(store: KubernetesStore, profile = DEFAULT_PROFILE): Promise<Snapshot> {
  const ref: StoreRef = { kind: "dir", profile, path: store.location, source: "--store" };
  const snapshot: Snapshot = { ref, exists: false, entries: [], contents: new Map(), unreadable: [], generation: null, generations: [] };
  const secret = await store.readSecret();
  if (!secret) return snapshot;
  snapshot.exists = true;
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const mtimeMs = Date.now();
  const add = (path: string, type: Entry["type"], size = 0) => snapshot.entries.push({ path, type, mode: type === "dir" ? 0o700 : 0o600, uid, gid, size, mtimeMs });
  add(".", "dir");
  add("captures", "dir");
  if (!secret.packed) return snapshot;
  snapshot.generation = secret.generation;
  snapshot.generations = [secret.generation];
  const dir = `captures/${generationName(secret.generation)}`;
  add(dir, "dir");
  let files: Record<string, string>;
  try {
    files = decodeCapture(secret.packed);
  } catch (error) {
    snapshot.unreadable.push({ path: dir, problem: (error as Error).message });
    return snapshot;
  }
  const dirs = new Set<string>();
  for (const [name, base64] of Object.entries(files).sort()) {
    const parts = name.split("/");
    for (let i = 1; i < parts.length && i <= 2; i++) {
      const sub = `${dir}/${parts.slice(0, i).join("/")}`;
      if (dirs.has(sub)) continue;
      dirs.add(sub);
      add(sub, "dir");
    }
    const content = Buffer.from(base64, "base64");
    if (parts.length <= 2) add(`${dir}/${name}`, "file", content.length);
    if (parts.length === 1 && AUTH_FILES.includes(name)) snapshot.contents.set(`${dir}/${name}`, content.toString("utf8"));
  }
  return snapshot;
}
