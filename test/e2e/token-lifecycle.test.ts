// The reason the product exists: with access tokens that live inside the Claude CLI's
// 5-minute refresh window, every run wants a refresh. Through `docker claudeauth run`, the
// real CLI in the production image, concurrent workers never spend a refresh token twice
// and the store always ends on the newest one; the seed's design, in the same harness,
// logs itself out at the first rotation.
import { beforeAll, describe, expect, it } from "vitest";
import { ensureImages, RUN_IMAGE } from "../support/images";
import { formatSoak, soak } from "../support/soak";

const IN_REFRESH_WINDOW_SECONDS = 240;

describe("token lifecycle with the real CLI behind the fake endpoint", () => {
  beforeAll(async () => {
    await ensureImages();
  });

  it("8 workers × 5 runs: no 'Not logged in', no invalid_grant, no revoked family, the store valid and newest", async () => {
    const result = await soak({ design: "claudeauth", workers: 8, runsPerWorker: 5, accessTokenTtlSeconds: IN_REFRESH_WINDOW_SECONDS, image: RUN_IMAGE });
    console.log(formatSoak([result]));
    expect(result).toMatchObject({
      runs: 40, ok: 40, notLoggedIn: 0, invalidGrant: 0, familiesRevoked: 0,
      storeInvalidAfterRun: 0, storeHoldsNewestRefreshToken: true, tokenLeaks: 0,
    });
    expect(result.refreshes).toBeGreaterThanOrEqual(1);
  }, 900_000);

  it("the seed's design (a plain copy of a frozen capture per run) spends a spent token and is logged out", async () => {
    const result = await soak({ design: "seed", workers: 2, runsPerWorker: 2, accessTokenTtlSeconds: IN_REFRESH_WINDOW_SECONDS, image: RUN_IMAGE });
    console.log(formatSoak([result]));
    expect(result.invalidGrant).toBeGreaterThanOrEqual(1);
    expect(result.familiesRevoked).toBeGreaterThanOrEqual(1);
    expect(result.ok).toBeLessThan(result.runs);
  }, 600_000);
});
