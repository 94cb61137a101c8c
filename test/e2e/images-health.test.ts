// End to end, HEALTHCHECK: the production image's own health check (claudeauth-entrypoint
// health, reading the mounted store, no network) turns a running container unhealthy when
// the store's access token has expired, and healthy when it is valid.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectNoTokens } from "../support/tokens";
import {
  RUN_IMAGE, STORE_IN_CONTAINER, claudeJson, containerName, docker, ensureImages, hostUserDir, oauthCredentials,
  removeContainers, runSession, writeLoginScript,
} from "../support/images";

const HOUR = 3_600_000;

let scratch: string;

beforeAll(async () => {
  await ensureImages();
  scratch = hostUserDir("health");
});

afterAll(async () => {
  await removeContainers();
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

/** A store as `docker claudeauth setup` leaves it, from a scripted login with these credentials. */
async function storeWith(name: string, credentials: unknown): Promise<string> {
  const store = path.join(scratch, name);
  const login = writeLoginScript(scratch, `login-${name}.sh`, { credentials, claudeJson: claudeJson() });
  const setup = await runSession("setup", { store, mounts: [`${login}:/e2e/login.sh:ro`], command: ["/e2e/login.sh"] }, "plugin");
  expectNoTokens(setup);
  expect(fs.existsSync(path.join(store, "captures")), setup.stderr).toBe(true);
  return store;
}

type Health = { Status: string; Log: { ExitCode: number; Output: string }[] | null };

async function health(container: string): Promise<Health> {
  const inspect = await docker(["inspect", "--format", "{{json .State.Health}}", container]);
  expect(inspect.exitCode, inspect.stderr).toBe(0);
  return JSON.parse(inspect.stdout) as Health;
}

/** The production image, detached, with the image's HEALTHCHECK made frequent. */
async function startDetached(store: string): Promise<string> {
  const name = containerName("health");
  const run = await docker([
    "run", "-d", "--name", name, "--network", "none",
    "--health-interval", "1s", "--health-timeout", "30s", "--health-retries", "1", "--health-start-period", "0s",
    "-v", `${store}:${STORE_IN_CONTAINER}`, RUN_IMAGE, "sleep", "300",
  ]);
  expect(run.exitCode, run.stderr).toBe(0);
  return name;
}

// Generous timeouts: on a loaded 2-core machine a container with the CLI can take many seconds.
describe.concurrent("HEALTHCHECK of the production image", { timeout: 240_000 }, () => {
  const cases: [label: string, expected: "healthy" | "unhealthy", expiresInMs: number, line: RegExp][] = [
    ["an expired access token", "unhealthy", -HOUR, /^unhealthy: access token expired/],
    ["a valid access token", "healthy", 8 * HOUR, /^healthy: credentials valid, access token expires in 7h/],
  ];
  it.each(cases)("with %s the container becomes %s", async (_label, expected, expiresInMs, line) => {
    const name = expected;
    const store = await storeWith(name, oauthCredentials(`health-${name}`, expiresInMs));
    const container = await startDetached(store);
    // Poll until the health check has reported for itself: on a loaded machine a check can
    // also time out (exit -1), which says nothing about the store.
    const reported = (state: Health) =>
      state.Status === expected && (state.Log ?? []).some((entry) => entry.ExitCode === (expected === "healthy" ? 0 : 1) && line.test(entry.Output));
    let state: Health = await health(container);
    for (const deadline = Date.now() + 90_000; !reported(state) && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      state = await health(container);
    }
    expect(state.Status).toBe(expected);
    const last = state.Log!.filter((entry) => entry.ExitCode !== -1).at(-1)!;
    expect(last.ExitCode).toBe(expected === "healthy" ? 0 : 1);
    expect(last.Output).toMatch(line);
    // The workload kept running either way: health reports, it does not stop anything.
    expect((await docker(["inspect", "--format", "{{.State.Running}}", container])).stdout.trim()).toBe("true");
    const logs = await docker(["logs", container]);
    expectNoTokens(last.Output, logs, (await docker(["inspect", container])).stdout);
    await docker(["rm", "-f", container]);
  });
});
