// The hostile-workload soak, full size: 200 runs whose workload picks random attacks
// (test/security/hostile-workload.sh) while other runs and `refresh` calls go on.
// Run through vitest (it brings the TypeScript and the built images):
//   SOAK_RUNS=200 SOAK_WORKERS=4 npx vitest run --config bench/vitest.config.mts bench/hostile-soak.bench.ts
import { test } from "vitest";
import { formatHostileSoak, hostileSoak } from "../test/support/hostile-soak";
import { ensureImages, RUN_IMAGE } from "../test/support/images";

const runs = Number(process.env.SOAK_RUNS ?? 200);
const workers = Number(process.env.SOAK_WORKERS ?? 4);
const seed = Number(process.env.SOAK_SEED ?? Date.now() % 1_000_000);

test(`hostile soak: ${runs} runs, ${workers} workers`, async () => {
  await ensureImages();
  const result = await hostileSoak({ runs, workers, seed, image: RUN_IMAGE, accessTokenTtlSeconds: 10 });
  console.log(`hostile soak: SOAK_RUNS=${runs} SOAK_WORKERS=${workers} SOAK_SEED=${seed}\n${formatHostileSoak(result)}`);
});
