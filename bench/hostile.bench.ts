// The randomized hostile-workload soak, full size: 200 runs (4 workers × 50) of the compiled
// entrypoint on this host, each the init of its own PID namespace, with random attacks from
// test/security/hostile-soak.ts and `refresh` running alongside. Needs root:
//   HOSTILE_WORKERS=4 HOSTILE_RUNS=50 npx vitest run --config bench/vitest.config.mts bench/hostile.bench.ts
import { test } from "vitest";
import { formatHostileSoak, hostileSoak } from "../test/security/hostile-soak";

const workers = Number(process.env.HOSTILE_WORKERS ?? 4);
const runsPerWorker = Number(process.env.HOSTILE_RUNS ?? 50);

test(`hostile soak: ${workers} workers × ${runsPerWorker} runs`, async () => {
  const result = await hostileSoak({ workers, runsPerWorker });
  console.log(`hostile soak: ${workers} workers × ${runsPerWorker} runs, access tokens valid 6 s, refresh margin 4 s\n${formatHostileSoak(result)}`);
});
