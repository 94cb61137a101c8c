// The token-lifecycle soak, full size: 8 workers × 50 runs of the real Claude CLI against the
// fake Anthropic endpoint, access tokens living inside the CLI's refresh window, for our
// design and for the seed's (a plain copy of a frozen capture per run), side by side.
//   npx tsx bench/soak.bench.ts [workers] [runsPerWorker]
import { formatSoak, soak } from "../test/support/soak";
import { RUN_IMAGE } from "../test/support/images";

const workers = Number(process.argv[2] ?? 8);
const runsPerWorker = Number(process.argv[3] ?? 50);
const accessTokenTtlSeconds = 240; // inside the CLI's 5-minute refresh window

const ours = await soak({ design: "claudeauth", workers, runsPerWorker, accessTokenTtlSeconds, image: RUN_IMAGE });
const seed = await soak({ design: "seed", workers, runsPerWorker, accessTokenTtlSeconds, image: RUN_IMAGE });
console.log(`soak: ${workers} workers × ${runsPerWorker} runs, access tokens valid ${accessTokenTtlSeconds}s`);
console.log(formatSoak([ours, seed]));
