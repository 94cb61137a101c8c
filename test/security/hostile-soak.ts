// A randomized hostile-workload soak on the run path: concurrent runs of the compiled
// entrypoint (each the init of its own PID namespace, as in a container) whose workloads pick
// attacks at random, while `refresh` runs alongside and access tokens live a few seconds, so
// that refreshes, hand-overs and clean-ups race the attacks all the time.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { startFakeAnthropic } from "../fake-anthropic";
import { Store } from "../../core/store";
import { binary, BASE_PATH } from "../support/entrypoint";
import { STORE_OWNER } from "../support/test-user";
import { removeWorlds, runHostile, storeProblems, world, type World } from "./hostile-run";

const OTHER_ACCOUNT = { uuid: "00000000-0000-4000-8000-0000000bad00", email: "attacker@example.com" };

/** Each attack: shell for the workload; `next` is the capture the next refresh will commit. */
const ATTACKS: Record<string, (ctx: { next: string; current: string; other: string; same: string }) => string> = {
  "config dir → symlink into the store": ({ next }) => `mv "$CLAUDE_CONFIG_DIR" "$CLAUDE_CONFIG_DIR.x" && ln -s "${next}" "$CLAUDE_CONFIG_DIR"; sleep 2`,
  "credentials → symlink into the store": ({ next }) => `ln -sf "${next}/.credentials.json" "$CLAUDE_CONFIG_DIR/.credentials.json"; sleep 2`,
  "exchange loops, then exit": ({ current }) => `cfg="$CLAUDE_CONFIG_DIR"; mkdir "$cfg/d"; ln -s "${current}" "$cfg/l"; ln -s "${current}/.credentials.json" "$cfg/c"
setsid "$T_BIN/exchange" "$cfg/d" "$cfg/l" </dev/null >/dev/null 2>&1 &
setsid "$T_BIN/exchange" "$cfg/.credentials.json" "$cfg/c" </dev/null >/dev/null 2>&1 &
sleep 0.3`,
  "double-forked swapper outliving the run": ({ current }) => `( setsid sh -c 'while :; do ln -sfn "$1" "$0/s"; rm -f "$0/s"; mkdir -p "$0/s/n"; rm -rf "$0/s"; done' "$CLAUDE_CONFIG_DIR" "${current}" </dev/null >/dev/null 2>&1 & )`,
  "another account's login + mcpServers": ({ other }) => `cd "$CLAUDE_CONFIG_DIR" && printf '%s' '${other}' > .credentials.json && printf '%s' '{"mcpServers":{"x":{"command":"sh"}}}' > .claude.json`,
  "made-up refresh token on the store's access token": () => `cd "$CLAUDE_CONFIG_DIR" && sed 's/"refreshToken": ""/"refreshToken": "sk-ant-ort01-madeup"/' .credentials.json > .c && mv .c .credentials.json`,
  "a login of the store's account (kept only with --allow-login)": ({ same }) => `cd "$CLAUDE_CONFIG_DIR" && printf '%s' '${same}' > .c && mv .c .credentials.json`,
  "reads everything it can for a refresh token": () => `grep -rhoa 'sk-ant-ort01-[A-Za-z0-9_-]\\{20,\\}' "$CLAUDE_CONFIG_DIR" "$T_STORE" /proc/*/environ /proc/*/cmdline 2>/dev/null >> "$T_OUT/refresh-tokens-seen"; sleep 1`,
  "benign, long enough for a refresh": () => `sleep 3`,
};

export type HostileSoakResult = {
  runs: number;
  byAttack: Record<string, number>;
  capturesWithoutRefreshToken: number;
  refreshTokenReads: number;
  familiesRevoked: number;
  internalErrors: number;
  refreshes: number;
  adopted: number;
  storeOnNewestToken: boolean;
  seconds: number;
};

export async function hostileSoak(options: { workers: number; runsPerWorker: number }): Promise<HostileSoakResult> {
  const fake = await startFakeAnthropic({ accessTokenTtlSeconds: 6 });
  try {
    const w = await world({ claudeAiOauth: fake.login() }, {});
    const result: HostileSoakResult = {
      runs: 0, byAttack: {}, capturesWithoutRefreshToken: 0, refreshTokenReads: 0, familiesRevoked: 0,
      internalErrors: 0, refreshes: 0, adopted: 0, storeOnNewestToken: false, seconds: 0,
    };
    const started = Date.now();
    let running = true;
    const refresher = (async () => {
      while (running) {
        await execa(binary("claudeauth-entrypoint"), ["refresh", "--store", w.store, "--owner", `${STORE_OWNER.uid}:${STORE_OWNER.gid}`, "--refresh-margin", "4s"], {
          reject: false, env: { PATH: BASE_PATH, HTTPS_PROXY: fake.proxyUrl, NODE_EXTRA_CA_CERTS: fake.caPath }, extendEnv: false,
        });
        await new Promise((resolve) => setTimeout(resolve, 500 + Math.random() * 1000));
      }
    })();
    const worker = async () => {
      for (let i = 0; i < options.runsPerWorker; i++) {
        const names = Object.keys(ATTACKS);
        const name = names[crypto.randomInt(names.length)]!;
        const store = new Store(w.store).readCurrent()!;
        const capture = (g: number) => path.join(w.store, "captures", String(g).padStart(8, "0"));
        const script = ATTACKS[name]!({
          next: capture(store.generation + 1),
          current: store.dir,
          other: JSON.stringify({ claudeAiOauth: fake.login({ account: OTHER_ACCOUNT }) }),
          same: JSON.stringify({ claudeAiOauth: fake.login() }),
        });
        const allow = crypto.randomInt(2) === 0 ? "0" : "1";
        const run = runHostile(fake, { ...w, uid: 40_000 + crypto.randomInt(20_000) } satisfies World, script, {
          env: { CLAUDEAUTH_REFRESH_MARGIN: "4s", CLAUDEAUTH_ALLOW_LOGIN: allow },
        });
        const outcome = await run;
        result.runs++;
        result.byAttack[name] = (result.byAttack[name] ?? 0) + 1;
        if (/internal error/.test(outcome.stderr)) result.internalErrors++;
        if (/wrote the run's new login back/.test(outcome.stderr)) result.adopted++;
        result.capturesWithoutRefreshToken += storeProblems(w).filter((p) => /no refresh token/.test(p)).length;
      }
    };
    await Promise.all(Array.from({ length: options.workers }, worker));
    running = false;
    await refresher;
    result.seconds = (Date.now() - started) / 1000;
    const seen = path.join(w.out, "refresh-tokens-seen");
    result.refreshTokenReads = fs.existsSync(seen) ? fs.readFileSync(seen, "utf8").split("\n").filter(Boolean).length : 0;
    result.familiesRevoked = fake.stats.familiesRevoked;
    result.refreshes = fake.stats.refreshOk;
    const current = new Store(w.store).readCurrent()!.credentials!.claudeAiOauth.refreshToken;
    result.storeOnNewestToken = current === fake.latestRefreshToken(current);
    return result;
  } finally {
    removeWorlds();
    await fake.close();
  }
}

export function formatHostileSoak(r: HostileSoakResult): string {
  const rows: [string, string | number | boolean][] = [
    ["runs", r.runs], ...Object.entries(r.byAttack).sort().map(([name, n]): [string, number] => [`  ${name}`, n]),
    ["captures without a refresh token", r.capturesWithoutRefreshToken], ["refresh tokens read by a workload", r.refreshTokenReads],
    ["families revoked", r.familiesRevoked], ["internal errors", r.internalErrors], ["refreshes", r.refreshes],
    ["logins adopted (same account, --allow-login)", r.adopted], ["store on the newest token", r.storeOnNewestToken], ["wall time (s)", r.seconds],
  ];
  return rows.map(([k, v]) => `${k.padEnd(48)} ${v}`).join("\n");
}
