// The Kubernetes backend (a Secret + its refresh Lease) against the store spec, on the real
// API server of scripts/k8s-apiserver.sh, as its admin.
import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeApi } from "../../core/kubernetes/api";
import { KubernetesStore, MAX_CONFLICT_RETRIES } from "../../core/kubernetes/store";
import { commit } from "../../core/store";
import { describeStoreSpec, fillWith } from "../support/store-spec";
import { credentialsText, tempRoot } from "../support/fixtures";
import { adminStore, api, newNamespace, readStoreSecret, startCluster, type Cluster } from "../support/kubernetes";

let cluster: Cluster;
let namespace: string;
let root: string;
let stores = 0;

beforeAll(async () => {
  cluster = startCluster();
  namespace = await newNamespace(cluster, "spec");
  root = tempRoot("claudeauth-k8s-spec-");
}, 45 * 60_000);

afterAll(() => {
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

describeStoreSpec("kubernetes", async () => adminStore(cluster, namespace, `store-${++stores}`, root));

// A 409 storm: something writes the Secret (an annotation, as a careless controller would)
// just before each of our writes, so each of them is a stale compare-and-swap on the real API
// server. The write is retried a bounded number of times, re-reading each time, and never
// overwrites what the other writer put there.
describe("409 storms on the real API server", () => {
  const meta = { source: "spec", mode: "oauth" } as const;

  /** A store whose first `storms` Secret writes each find the Secret changed since it was read. */
  async function stormyStore(name: string, storms: number): Promise<{ store: KubernetesStore; writes: () => number }> {
    const admin = adminStore(cluster, namespace, name, root);
    let writes = 0;
    class StormApi extends KubeApi {
      override async request<T>(method: string, urlPath: string, body?: unknown) {
        if (method === "PUT" && urlPath.endsWith(`/secrets/${name}`) && writes++ < storms) {
          const secret = await readStoreSecret(cluster, namespace, name);
          secret.body.metadata.annotations = { ...secret.body.metadata.annotations, "example.com/touched": String(writes) };
          expect((await api(cluster, "PUT", urlPath, secret.body)).status).toBe(200);
        }
        return super.request<T>(method, urlPath, body);
      }
    }
    return { store: new KubernetesStore(new StormApi(admin.api.connection), admin.ref, admin.options), writes: () => writes };
  }

  it(`a Secret changed before each of our writes: given up after ${MAX_CONFLICT_RETRIES + 1} writes in one line, the other writer's change and the capture kept`, async () => {
    const name = `storm-${++stores}`;
    await commit(adminStore(cluster, namespace, name, root), fillWith(adminStore(cluster, namespace, name, root), { ".credentials.json": credentialsText("before") }), meta);
    const { store, writes } = await stormyStore(name, Infinity);
    await expect(commit(store, fillWith(store, { ".credentials.json": credentialsText("after") }), meta)).rejects.toThrow(
      new RegExp(`^the Secret ${namespace}/${name} changed under each of ${MAX_CONFLICT_RETRIES + 1} writes in a row: something else keeps writing it; stop that and try again$`),
    );
    expect(writes()).toBe(MAX_CONFLICT_RETRIES + 1);
    const after = await readStoreSecret(cluster, namespace, name);
    expect(after.body.metadata.annotations["example.com/touched"]).toBe(String(MAX_CONFLICT_RETRIES + 1));
    expect((await adminStore(cluster, namespace, name, root).readCurrent())?.generation).toBe(1);
  });

  it("a Secret changed before our first two writes: the third commits on top of the other writer's change", async () => {
    const name = `storm-${++stores}`;
    await commit(adminStore(cluster, namespace, name, root), fillWith(adminStore(cluster, namespace, name, root), { ".credentials.json": credentialsText("before") }), meta);
    const { store, writes } = await stormyStore(name, 2);
    expect((await commit(store, fillWith(store, { ".credentials.json": credentialsText("after") }), meta)).generation).toBe(2);
    expect([writes(), store.conflicts]).toEqual([3, 2]);
    expect((await readStoreSecret(cluster, namespace, name)).body.metadata.annotations["example.com/touched"]).toBe("2");
  });
});
