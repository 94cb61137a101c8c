// The hostile-workload soak: runs of the production image whose workload attacks the entrypoint
// (test/security/hostile-workload.sh: symlink swaps, renameat2 exchange loops, background
// processes that outlive it, another account's login with configs that run commands, a made-up
// refresh token, docker stop mid-refresh), while other runs and `docker claudeauth refresh` calls
// go on against the same store and the fake endpoint. Half the runs say --allow-login, so a fresh
// login of the store's own account may legitimately be adopted. It judges what the product
// promises: no capture ever without a refresh token, no refresh token in anything a workload
// could read, no family revoked, nothing planted adopted (no other account, no config), and the
// store on the newest token of the login it holds at the end.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { startFakeAnthropic, type FakeAnthropic } from "../fake-anthropic";
import { serializeJson } from "../../core/credentials";
import { containsTokenShape } from "../../core/redact";
import { DirStore } from "../../core/store-dir";
import { ROOT, pluginBinary } from "./images";
import { fakeEndpointArgs, isSuccess, seedStore } from "./soak";

export const ATTACKS = ["read", "symlink-swap", "exchange", "background", "plant", "same-account-login", "made-up-refresh", "stop", "claude"] as const;
export type Attack = (typeof ATTACKS)[number];

export type HostileSoakOptions = { runs: number; workers: number; seed: number; image: string; accessTokenTtlSeconds: number; attacks?: readonly Attack[] };
export type HostileSoakResult = {
  seed: number;
  runs: number;
  byAttack: Record<Attack, number>;
  claudeRunsOk: number;
  loginsAdopted: number;
  refreshCalls: number;
  capturesWithoutRefreshToken: number;
  capturesWithPlantedState: number;
  storeUnreadable: number;
  writesThroughWorkloadLinks: number;
  refreshTokenReads: number;
  invalidGrant: number;
  familiesRevoked: number;
  refreshes: number;
  storeOnNewestToken: boolean;
  tokenShapesInOutput: number;
  seconds: number;
};

const WORKLOAD = path.join(ROOT, "test/security/hostile-workload.sh");
const ATTACKER_ACCOUNT = { uuid: "00000000-0000-4000-8000-0000000bad00", email: "attacker@example.com" };

export async function hostileSoak(options: HostileSoakOptions): Promise<HostileSoakResult> {
  const fake = await startFakeAnthropic({ accessTokenTtlSeconds: options.accessTokenTtlSeconds });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "claudeauth-hostile-"));
  fs.chmodSync(dir, 0o755);
  const store = path.join(dir, "store");
  const attackDir = path.join(dir, "attack");
  const lootDir = path.join(dir, "loot");
  fs.mkdirSync(attackDir, { mode: 0o755 });
  fs.mkdirSync(lootDir, { mode: 0o777 });
  fs.chmodSync(lootDir, 0o777); // the workload (another uid) leaves what it stole here
  fs.copyFileSync(WORKLOAD, path.join(attackDir, "hostile-workload.sh"));
  const random = mulberry32(options.seed);
  const attacks = options.attacks ?? ATTACKS;
  const result: HostileSoakResult = {
    seed: options.seed, runs: 0, byAttack: Object.fromEntries(ATTACKS.map((a) => [a, 0])) as Record<Attack, number>,
    claudeRunsOk: 0, loginsAdopted: 0, refreshCalls: 0, capturesWithoutRefreshToken: 0, capturesWithPlantedState: 0, storeUnreadable: 0, writesThroughWorkloadLinks: 0,
    refreshTokenReads: 0, invalidGrant: 0, familiesRevoked: 0, refreshes: 0, storeOnNewestToken: false, tokenShapesInOutput: 0, seconds: 0,
  };
  try {
    await seedStore(store, fake);
    // The logins the store has held: the seeded one, and any a run adopted (--allow-login).
    const storeFamilies = new Set([fake.family()!.id]);
    const attackerFamilies = new Set<string>();
    const planted = new Set<string>();
    const started = Date.now();
    let next = 0;
    let done = false;
    const judgeStore = () => {
      const verdict = inspectStore(store);
      result.capturesWithoutRefreshToken += verdict.withoutRefreshToken;
      result.capturesWithPlantedState += verdict.planted;
      result.storeUnreadable += verdict.unreadable;
      result.writesThroughWorkloadLinks = countWorkingCopyFilesIn(store);
      for (const token of verdict.refreshTokens) {
        const family = fake.family(token);
        if (family && attackerFamilies.has(family.id)) result.capturesWithPlantedState++;
        else if (family) storeFamilies.add(family.id);
      }
    };
    const worker = async () => {
      while (next < options.runs) {
        const n = next++;
        const attack = attacks[Math.floor(random() * attacks.length)]!;
        const stopAfterMs = Math.floor(random() * 2000);
        result.byAttack[attack]++;
        const allowLogin = random() < 0.5;
        // Fresh logins per run, so no token is ever planted twice: the attacker's own account
        // (never to be adopted), and one of the store's account (adoptable with --allow-login).
        if (attack === "plant") {
          writeLogin(path.join(attackDir, `other-account-${n}.json`), fake.login({ account: ATTACKER_ACCOUNT }));
          attackerFamilies.add(fake.family()!.id);
        }
        if (attack === "same-account-login") {
          const login = fake.login();
          planted.add(login.refreshToken); // the workload's own login: it may know this one
          writeLogin(path.join(attackDir, `same-account-${n}.json`), login);
        }
        const run = await hostileRun({ n, attack, allowLogin, stopAfterMs, store, attackDir, lootDir, fake, image: options.image });
        result.runs++;
        if (attack === "claude" && run.exitCode === 0 && isSuccess(run.stdout)) result.claudeRunsOk++;
        else if (attack === "claude") console.error(`run ${n} claude failed (exit ${run.exitCode}): ${(run.all ?? "").slice(-600)}`);
        if (containsTokenShape(run.all ?? "")) result.tokenShapesInOutput++;
        if (process.env.SOAK_DEBUG) console.error(`run ${n} ${attack} exit ${run.exitCode}: ${(run.all ?? "").slice(-400)}`);
        judgeStore();
      }
    };
    const refresher = async () => {
      while (!done) {
        await execa(pluginBinary(), ["refresh", "--store", store, "--image", options.image, ...fakeEndpointArgs(fake)], { reject: false, stdin: "ignore" });
        result.refreshCalls++;
        judgeStore();
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    };
    const refreshing = refresher();
    await Promise.all(Array.from({ length: options.workers }, worker));
    done = true;
    await refreshing;
    result.seconds = (Date.now() - started) / 1000;
    result.loginsAdopted = storeFamilies.size - 1;
    const storeTokens = [...storeFamilies].flatMap((f) => fake.family(f)!.refreshTokens).filter((t) => !planted.has(t));
    result.refreshTokenReads = countRunsHolding(lootDir, storeTokens);
    // Made-up refresh tokens (sent by the entrypoint to check a login, with --allow-login) are
    // answered invalid_grant too: counted here, not a fault. A revoked family would be.
    result.invalidGrant = fake.stats.invalidGrant;
    result.familiesRevoked = fake.stats.familiesRevoked;
    result.refreshes = fake.stats.refreshOk;
    const current = new DirStore(store).readCurrentSync()?.credentials?.claudeAiOauth.refreshToken;
    const holding = current ? fake.family(current) : undefined;
    result.storeOnNewestToken = !!holding && !holding.revoked && current === fake.latestRefreshToken(holding.id);
    return result;
  } finally {
    await fake.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

type RunSpec = { n: number; attack: Attack; allowLogin: boolean; stopAfterMs: number; store: string; attackDir: string; lootDir: string; fake: FakeAnthropic; image: string };

async function hostileRun(spec: RunSpec) {
  const name = `claudeauth-hostile-${process.pid}-${spec.n}`;
  const run = execa(pluginBinary(), [
    "run", "--store", spec.store, "--image", spec.image, "--no-workspace", "--name", name, ...fakeEndpointArgs(spec.fake),
    ...(spec.allowLogin ? ["--allow-login"] : []), "-e", `RUN=${spec.n}`,
    "-v", `${spec.attackDir}:/attack:ro`, "-v", `${spec.lootDir}:/loot`, "-e", `TARGET_GENERATION=${new DirStore(spec.store).currentGeneration() ?? 1}`,
    "--", "sh", "/attack/hostile-workload.sh", spec.attack, `/loot/${spec.n}`,
  ], { reject: false, stdin: "ignore", all: true });
  if (spec.attack === "stop") {
    // The orchestrator's stop (TERM to the group, KILL after the grace period), at a random
    // moment: before, during or after the start-up refresh.
    await new Promise((resolve) => setTimeout(resolve, spec.stopAfterMs));
    await execa("docker", ["stop", "-t", "3", name], { reject: false });
  }
  return run;
}

function writeLogin(file: string, credentials: object): void {
  fs.writeFileSync(file, serializeJson({ claudeAiOauth: credentials }), { mode: 0o644 });
}

/** Every kept generation: a refresh token in each (returned, to tell whose login), no planted config. */
function inspectStore(store: string): { withoutRefreshToken: number; planted: number; unreadable: number; refreshTokens: string[] } {
  const verdict = { withoutRefreshToken: 0, planted: 0, unreadable: 0, refreshTokens: [] as string[] };
  const captures = path.join(store, "captures");
  for (const name of fs.readdirSync(captures).filter((n) => /^\d{8}$/.test(n))) {
    const dir = path.join(captures, name);
    try {
      const credentials = JSON.parse(fs.readFileSync(path.join(dir, ".credentials.json"), "utf8"));
      const refreshToken: unknown = credentials?.claudeAiOauth?.refreshToken;
      if (typeof refreshToken !== "string" || refreshToken === "") verdict.withoutRefreshToken++;
      if (typeof refreshToken === "string" && refreshToken) verdict.refreshTokens.push(refreshToken);
      const claudeJson = fs.readFileSync(path.join(dir, ".claude.json"), "utf8");
      if (claudeJson.includes("mcpServers") || fs.existsSync(path.join(dir, "agents", "planted.md"))) verdict.planted++;
      if (fs.existsSync(path.join(dir, "settings.json")) && fs.readFileSync(path.join(dir, "settings.json"), "utf8").includes("pwned")) verdict.planted++;
    } catch {
      // An older generation being pruned while we read it is not a fault; the newest must read.
      if (Number(name) === new DirStore(store).currentGeneration()) verdict.unreadable++;
    }
  }
  return verdict;
}

/**
 * Credentials files that root wrote into the store's own directories because a workload's
 * symlink pointed there (the working copy's file names, never the store's).
 */
function countWorkingCopyFilesIn(store: string): number {
  const dirs = [store, path.join(store, "captures")];
  return dirs.flatMap((dir) => fs.readdirSync(dir)).filter((name) => name.includes(".credentials.json")).length;
}

/** Runs whose loot holds any of these tokens, whole or a 16-character slice of one. */
function countRunsHolding(lootDir: string, tokens: string[]): number {
  const needles = tokens.flatMap((t) => [t, t.slice(t.length / 2 - 8, t.length / 2 + 8)]);
  let runs = 0;
  for (const run of fs.readdirSync(lootDir)) {
    const files = fs.readdirSync(path.join(lootDir, run), { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    const hit = files.some((f) => {
      const text = fs.readFileSync(path.join(f.parentPath, f.name), "latin1");
      return needles.some((needle) => text.includes(needle));
    });
    if (hit) runs++;
  }
  return runs;
}

/** A small seeded PRNG, so a failing soak can be replayed with its seed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function formatHostileSoak(r: HostileSoakResult): string {
  const rows: [string, string | number][] = [
    ["seed", r.seed], ["runs", r.runs], ["runs by attack", ATTACKS.map((a) => `${a} ${r.byAttack[a]}`).join(", ")],
    ["real CLI runs logged in", `${r.claudeRunsOk}/${r.byAttack.claude}`], ["same-account logins adopted (--allow-login)", r.loginsAdopted], ["concurrent refresh calls", r.refreshCalls],
    ["captures without a refresh token", r.capturesWithoutRefreshToken], ["captures with planted state", r.capturesWithPlantedState],
    ["unreadable captures", r.storeUnreadable], ["files root wrote through a workload's links", r.writesThroughWorkloadLinks], ["runs whose workload read a refresh token", r.refreshTokenReads],
    ["invalid_grant", r.invalidGrant], ["families revoked", r.familiesRevoked], ["refreshes", r.refreshes],
    ["store on the newest refresh token", String(r.storeOnNewestToken)], ["token-shaped strings in output", r.tokenShapesInOutput],
    ["wall time (s)", r.seconds.toFixed(1)],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join("\n");
}
