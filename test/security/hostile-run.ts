// A hostile workload for the run-path tests of test/security/: a store seeded with a login
// from the fake endpoint, a work dir laid out as the plugin's tmpfs (1777), scripts the
// workload runs, and the compiled entrypoint started as root the way an image starts it —
// as the init of a PID namespace of its own (unshare), so "every process of the runtime
// uid" means this run's and nothing else on the machine.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { serializeJson } from "../../core/credentials";
import { commit } from "../../core/store";
import { DirStore } from "../../core/store-dir";
import { binary, BASE_PATH } from "../support/entrypoint";
import { snapshotTree, tempRoot, writeScript, type Entry } from "../support/fixtures";
import { STORE_OWNER } from "../support/test-user";
import type { FakeAnthropic } from "../fake-anthropic";

/**
 * renameat2(RENAME_EXCHANGE) in a loop, in perl (present in every Debian image as perl-base):
 * swaps two paths atomically, over and over, so that any path-based walk sees each in turn.
 */
export const EXCHANGE_LOOP = `#!/usr/bin/perl
# usage: exchange PATH_A PATH_B (x86_64 renameat2 = 316, AT_FDCWD = -100, RENAME_EXCHANGE = 2)
my ($a, $b) = @ARGV;
while (1) { syscall(316, -100, $a, -100, $b, 2); }
`;

export type World = {
  root: string;
  store: string;
  work: string;
  out: string;
  bin: string;
  /** A root-only directory outside the store: nothing may ever be written into it. */
  outside: string;
  uid: number;
};

/** A uid no other test or process uses, so that its processes are this test's alone. */
export function freshUid(): number {
  return 40_000 + crypto.randomInt(20_000);
}

const worlds: string[] = [];

/** Removes every world made so far (tests run concurrently: per-test clean-up hooks would mix them up). */
export function removeWorlds(): void {
  for (const root of worlds.splice(0)) fs.rmSync(root, { recursive: true, force: true });
}

export async function world(login: { claudeAiOauth: unknown }, files: Record<string, string> = {}): Promise<World> {
  const root = tempRoot("claudeauth-hostile-", false);
  worlds.push(root);
  const w: World = {
    root,
    store: path.join(root, "store"),
    work: path.join(root, "work"),
    out: path.join(root, "out"),
    bin: path.join(root, "bin"),
    outside: path.join(root, "outside"),
    uid: freshUid(),
  };
  fs.mkdirSync(w.work);
  fs.chmodSync(w.work, 0o1777); // as the plugin's tmpfs
  fs.mkdirSync(w.out);
  fs.chmodSync(w.out, 0o777);
  fs.mkdirSync(w.outside, { mode: 0o700 });
  writeScript(w.bin, "exchange", EXCHANGE_LOOP);
  await commit(new DirStore(w.store, STORE_OWNER), (draft) => {
    fs.writeFileSync(path.join(draft, ".credentials.json"), serializeJson(login), { mode: 0o600 });
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(draft, name), text, { mode: 0o600 });
    for (const name of fs.readdirSync(draft)) fs.chownSync(path.join(draft, name), STORE_OWNER.uid, STORE_OWNER.gid);
  }, { source: "setup", mode: "oauth" });
  return w;
}

export function captureDir(w: World, generation: number): string {
  return path.join(w.store, "captures", String(generation).padStart(8, "0"));
}

export type RunResult = { exitCode: number; stdout: string; stderr: string };

/** The compiled entrypoint in run mode, as root, PID 1 of a fresh PID namespace, the workload as `w.uid`. */
export async function runHostile(fake: FakeAnthropic, w: World, script: string, options: { args?: string[]; env?: Record<string, string> } = {}): Promise<RunResult> {
  const file = writeScript(w.bin, `workload-${crypto.randomBytes(4).toString("hex")}`, script);
  const args = [
    "run", "--store", w.store, "--user", String(w.uid), "--owner", `${STORE_OWNER.uid}:${STORE_OWNER.gid}`, "--work-dir", w.work, ...(options.args ?? []), "--", file,
  ];
  const result = await execa("unshare", ["--pid", "--fork", "--mount-proc", "--", binary("claudeauth-entrypoint"), ...args], {
    reject: false,
    stdin: "ignore",
    cwd: w.root,
    env: {
      PATH: BASE_PATH, LANG: "C.UTF-8", HTTPS_PROXY: fake.proxyUrl, NODE_EXTRA_CA_CERTS: fake.caPath,
      T_OUT: w.out, T_BIN: w.bin, T_STORE: w.store, T_OUTSIDE: w.outside, ...options.env,
    },
    extendEnv: false,
  });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** Processes of `uid` anywhere on this machine (there must be none once a run is over). */
export function processesOf(uid: number): number[] {
  return fs.readdirSync("/proc").filter((name) => /^\d+$/.test(name)).flatMap((name) => {
    try {
      const status = fs.readFileSync(`/proc/${name}/status`, "utf8");
      return new RegExp(`^Uid:\\s+(\\d+\\s+)*${uid}\\b`, "m").test(status) && !/^State:\s+Z/m.test(status) ? [Number(name)] : [];
    } catch {
      return [];
    }
  });
}

/** Every capture of the store: readable, with a non-empty refresh token. */
export function storeProblems(w: World): string[] {
  const problems: string[] = [];
  for (const name of fs.readdirSync(path.join(w.store, "captures"))) {
    const file = path.join(w.store, "captures", name, ".credentials.json");
    try {
      const oauth = JSON.parse(fs.readFileSync(file, "utf8")).claudeAiOauth;
      if (!oauth?.refreshToken) problems.push(`${name}: no refresh token`);
    } catch (error) {
      problems.push(`${name}: ${(error as Error).message}`);
    }
  }
  for (const entry of snapshotTree(w.store)) {
    if (entry.uid !== STORE_OWNER.uid || entry.kind === "symlink") problems.push(`${entry.path}: ${entry.kind} owned by ${entry.uid}`);
  }
  return problems;
}

export const storeTree = (w: World): Entry[] => snapshotTree(w.store);
