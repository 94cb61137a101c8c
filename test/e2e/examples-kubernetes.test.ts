// examples/kubernetes/ against a real API server (scripts/k8s-apiserver.sh: kube-apiserver
// v1.20.2 + etcd): `kubectl apply --dry-run=server` runs every admission and validation step
// of a real apply and stores nothing.
import fs from "node:fs";
import path from "node:path";
import { loadAll } from "js-yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../support/entrypoint";
import { api, kubectl, startCluster, type Cluster } from "../support/kubernetes";

const DIR = path.join(ROOT, "examples/kubernetes");
let cluster: Cluster;

beforeAll(async () => {
  cluster = startCluster();
  // A dry run stores nothing, so the namespaced objects need the namespace to exist for real.
  const created = await api(cluster, "POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "claude" } });
  expect([201, 409]).toContain(created.status);
}, 45 * 60_000);

describe("examples/kubernetes on a real API server", () => {
  it("kubectl apply --dry-run=server accepts every manifest (the CronJob as batch/v1beta1 on this 1.20 server; batch/v1 is 1.21+)", () => {
    const files = fs.readdirSync(DIR).filter((f) => f.endsWith(".yaml")).sort();
    expect(files).toEqual(["00-namespace.yaml", "10-serviceaccount.yaml", "20-role.yaml", "30-lease.yaml", "40-job.yaml", "50-cronjob.yaml"]);
    const accepted: string[] = [];
    for (const file of files) {
      let text = fs.readFileSync(path.join(DIR, file), "utf8");
      if (file === "50-cronjob.yaml") {
        expect(text).toMatch(/^apiVersion: batch\/v1$/m);
        text = text.replace(/^apiVersion: batch\/v1$/m, "apiVersion: batch/v1beta1");
      }
      const out = kubectl(cluster, ["apply", "--dry-run=server", "-f", "-"], text);
      accepted.push(...out.trim().split("\n"));
    }
    expect(accepted).toEqual([
      "namespace/claude configured (server dry run)",
      "serviceaccount/claude-runner created (server dry run)",
      "role.rbac.authorization.k8s.io/claude-login created (server dry run)",
      "rolebinding.rbac.authorization.k8s.io/claude-login created (server dry run)",
      "lease.coordination.k8s.io/claude-login-refresh created (server dry run)",
      "job.batch/claude-summary created (server dry run)",
      "cronjob.batch/claude-nightly created (server dry run)",
    ]);
  });

  it("the Role grants the pods only get and update on the one Secret and the one Lease, and create on Events (the audit trail)", () => {
    const documents = loadAll(fs.readFileSync(path.join(DIR, "20-role.yaml"), "utf8")) as { kind: string; rules?: unknown }[];
    const rules = documents.find((d) => d.kind === "Role")!.rules;
    expect(rules).toEqual([
      { apiGroups: [""], resources: ["secrets"], resourceNames: ["claude-login"], verbs: ["get", "update"] },
      { apiGroups: ["coordination.k8s.io"], resources: ["leases"], resourceNames: ["claude-login-refresh"], verbs: ["get", "update"] },
      { apiGroups: [""], resources: ["events"], verbs: ["create"] },
    ]);
  });
});
