// The promise under attack: workloads that swap the entrypoint's files for symlinks, run
// renameat2 exchange loops, leave processes behind, plant a login and configs that run
// commands, or are stopped mid-refresh, while other runs and `refresh` calls share the store.
// No capture ever loses its refresh token, no workload ever reads one, nothing planted is
// adopted, no family is revoked, and the store ends on the newest token.
// The full 200-run version is bench/hostile-soak.bench.ts (figures in BENCHMARKS.md).
import { beforeAll, describe, expect, it } from "vitest";
import { ensureImages, RUN_IMAGE } from "../support/images";
import { formatHostileSoak, hostileSoak, type Attack } from "../support/hostile-soak";

describe("hostile workloads against one store, with concurrent runs and refreshes", () => {
  beforeAll(async () => {
    await ensureImages();
  });

  it("random attacks (SOAK_RUNS, default 24): the store keeps its login and its newest token", async () => {
    const seed = Number(process.env.SOAK_SEED ?? Date.now() % 1_000_000);
    const attacks = process.env.SOAK_ATTACKS?.split(",") as Attack[] | undefined;
    // Tokens live 30 s (a real one 8 h): every run's start and the refresher's loop still
    // rotate them many times, and a real CLI started on a loaded machine still reaches its
    // first request in time (at 10 s, one real CLI run of a loaded CI run was not logged in;
    // a failed CLI run now prints its output).
    const result = await hostileSoak({ runs: Number(process.env.SOAK_RUNS ?? 24), workers: 4, seed, image: RUN_IMAGE, accessTokenTtlSeconds: 30, attacks });
    console.log(formatHostileSoak(result));
    expect(result).toMatchObject({
      capturesWithoutRefreshToken: 0, capturesWithPlantedState: 0, storeUnreadable: 0, writesThroughWorkloadLinks: 0, refreshTokenReads: 0,
      familiesRevoked: 0, storeOnNewestToken: true, tokenShapesInOutput: 0,
    });
    expect(result.claudeRunsOk).toBe(result.byAttack.claude);
    expect(result.refreshes).toBeGreaterThan(0);
  }, 900_000);
});
