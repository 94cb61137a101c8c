// The token-lifecycle soak, full size: 8 workers × 50 runs of the real Claude CLI against the
// fake Anthropic endpoint, access tokens living inside the CLI's refresh window, for our
// design and for the seed's (a plain copy of a frozen capture per run), side by side.
// Run through vitest (it brings the TypeScript and the built images):
//   SOAK_WORKERS=8 SOAK_RUNS=50 npx vitest run --config bench/vitest.config.mts bench/soak.bench.ts
import { test } from "vitest";
import { formatSoak, soak } from "../test/support/soak";
import { ensureImages, RUN_IMAGE } from "../test/support/images";

const workers = Number(process.env.SOAK_WORKERS ?? 8);
const runsPerWorker = Number(process.env.SOAK_RUNS ?? 50);
const accessTokenTtlSeconds = 240; // inside the CLI's 5-minute refresh window

test(`soak: ${workers} workers × ${runsPerWorker} runs, ours and the seed's`, async () => {
  await ensureImages();
  const ours = await soak({ design: "claudeauth", workers, runsPerWorker, accessTokenTtlSeconds, image: RUN_IMAGE });
  const seed = await soak({ design: "seed", workers, runsPerWorker, accessTokenTtlSeconds, image: RUN_IMAGE });
  console.log(`soak: ${workers} workers × ${runsPerWorker} runs, access tokens valid ${accessTokenTtlSeconds}s\n${formatSoak([ours, seed])}`);
});
