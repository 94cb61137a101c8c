// The k8s:// store's single flight at scale, against the real API server of the tests
// (scripts/k8s-apiserver.sh): PODS simulated pods (entrypoint processes with their own
// service-account tokens; no kubelet here) refresh one Secret at once, WAVES times, against the
// fake Anthropic endpoint (single-use rotating refresh tokens, family revocation on reuse).
// Run through vitest (it brings the TypeScript):
//   K8S_PODS=16 K8S_WAVES=10 npx vitest run --config bench/vitest.config.mts bench/kubernetes.bench.ts
import fs from "node:fs";
import { test } from "vitest";
import { startFakeAnthropic } from "../test/fake-anthropic";
import { tempRoot } from "../test/support/fixtures";
import { formatRace, raceRefresh, startCluster } from "../test/support/kubernetes";

const pods = Number(process.env.K8S_PODS ?? 16);
const waves = Number(process.env.K8S_WAVES ?? 10);

test(`k8s race: ${pods} pods × ${waves} waves`, async () => {
  const cluster = startCluster();
  const fake = await startFakeAnthropic({ accessTokenTtlSeconds: 600 });
  const root = tempRoot("claudeauth-k8s-bench-");
  try {
    console.log(formatRace(await raceRefresh(cluster, fake, root, { pods, waves })));
  } finally {
    await fake.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
}, 3_600_000);
