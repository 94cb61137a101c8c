// The randomized hostile-workload soak, small (the full 200 runs: bench/hostile.bench.ts).
import { expect, it } from "vitest";
import { canRunEntrypointTests } from "../support/test-user";
import { formatHostileSoak, hostileSoak } from "./hostile-soak";

it.runIf(canRunEntrypointTests())("12 runs with random attacks, refresh running alongside: every capture keeps its refresh token, no workload reads one, no family revoked, the store on the newest token", async () => {
  const result = await hostileSoak({ workers: 3, runsPerWorker: 4 });
  console.log(formatHostileSoak(result));
  expect(result).toMatchObject({ runs: 12, capturesWithoutRefreshToken: 0, refreshTokenReads: 0, familiesRevoked: 0, internalErrors: 0, storeOnNewestToken: true });
}, 300_000);
