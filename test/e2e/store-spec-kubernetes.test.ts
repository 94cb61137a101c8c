// The Kubernetes backend (a Secret + its refresh Lease) against the store spec, on the real
// API server of scripts/k8s-apiserver.sh, as its admin.
import fs from "node:fs";
import { afterAll, beforeAll } from "vitest";
import { describeStoreSpec } from "../support/store-spec";
import { tempRoot } from "../support/fixtures";
import { adminStore, newNamespace, startCluster, type Cluster } from "../support/kubernetes";

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
