// End to end, `docker claudeauth run` with the real production image: the real Claude CLI
// (2.1.197) inside the container uses the per-run working copy the entrypoint made from the
// store; the workload never gets the store's refresh token nor any way into the store, even
// with the store owner's uid; concurrent runs share nothing. The plugin runs as an ordinary
// host user (HOST_USER, 31337), who owns the store; its workloads run with that uid.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DirStore } from "../../core/store-dir";
import { expectNoTokens } from "../support/tokens";
import {
  HOST_USER, RUNTIME_UID, STORE_IN_CONTAINER, TOKEN_HASHES, claudeJson, ensureImages, hashTree, hostUserDir, oauthCredentials,
  removeContainers, runSession, sha256, writeLoginScript, type Session, type Via,
} from "../support/images";

const VIA: Via = "plugin";
const CONCURRENT_RUNS = 8;

let scratch: string;
let store: string;
let credentials: ReturnType<typeof oauthCredentials>;
const account = claudeJson("run@example.com");

beforeAll(async () => {
  await ensureImages();
  scratch = hostUserDir("run");
  store = path.join(scratch, "store");
  // The store as a real setup leaves it: a scripted login captured by docker claudeauth setup.
  credentials = oauthCredentials("run-store");
  const login = writeLoginScript(scratch, "login.sh", { credentials, claudeJson: account });
  const setup = await runSession("setup", { store, mounts: [`${login}:/e2e/login.sh:ro`], command: ["/e2e/login.sh"] }, VIA);
  if (setup.exitCode !== 0) throw new Error(`setup failed: ${setup.stderr}`);
});

afterAll(async () => {
  if (scratch) await removeContainers([store, path.join(scratch, "empty-store"), ...["probe-owner", "probe-image", "probe-root"].map((copy) => path.join(scratch, copy))]);
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

/** cpSync keeps modes, not owners: give the copy the original's owners, entry by entry. */
function copyOwnership(from: string, to: string): void {
  const stat = fs.lstatSync(from);
  fs.lchownSync(to, stat.uid, stat.gid);
  if (stat.isDirectory()) for (const name of fs.readdirSync(from)) copyOwnership(path.join(from, name), path.join(to, name));
}

// Generous timeouts: on a loaded 2-core machine a container with the CLI can take many seconds.
describe.concurrent("production image, real Claude CLI", { timeout: 240_000 }, () => {
  it("claude auth status --json reports logged in from the working copy, with no network", async () => {
    const result = await runSession("run", { store, command: ["claude", "auth", "status", "--json"] }, VIA);
    expectNoTokens(result);
    expect(result.exitCode, result.stderr).toBe(0);
    const status = JSON.parse(result.stdout);
    // The email comes from the capture's .claude.json: the CLI read the working copy, not a default.
    expect(status).toMatchObject({ loggedIn: true, authMethod: "claude.ai", email: "run@example.com", subscriptionType: "max" });
  });

  it.each([
    // docker claudeauth run gives the workload the invoking user's ids (files it writes in
    // the workspace are the user's); the image on its own runs it as its user `claude`.
    ["docker claudeauth run", "plugin", `uid=${HOST_USER.uid} gid=${HOST_USER.gid} groups=${HOST_USER.gid}`],
    ["the image's default (plain docker run)", "docker", `uid=${RUNTIME_UID} gid=${RUNTIME_UID} groups=${RUNTIME_UID} user=claude home=/home/claude`],
  ] as const)("claude --version runs as a non-root user: %s", async (_label, via, ids) => {
    const command = ["sh", "-c", 'echo "uid=$(id -u) gid=$(id -g) groups=$(id -G) user=$(id -un 2>/dev/null) home=$HOME"; claude --version'];
    const result = await runSession("run", { store, command }, via);
    expectNoTokens(result);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain(ids);
    expect(result.stdout).toMatch(/^2\.1\.197 \(Claude Code\)$/m);
  });

  it("with an empty store the run stops before the workload and says to log in", async () => {
    const empty = path.join(scratch, "empty-store");
    fs.mkdirSync(empty, { mode: 0o700 });
    fs.chownSync(empty, HOST_USER.uid, HOST_USER.gid);
    const result = await runSession("run", { store: empty, command: ["sh", "-c", "echo WORKLOAD-RAN"] }, VIA);
    expectNoTokens(result);
    expect(result.exitCode).not.toBe(0);
    expect(result.stdout).not.toContain("WORKLOAD-RAN");
    expect(result.stderr).toMatch(/not logged in: .*docker claudeauth setup/);
  });

  // The workload tries everything a process of its uid can try. It prints only sha256
  // digests of the token-shaped strings it can find, so no token crosses into the output.
  const probe = [
    TOKEN_HASHES,
    `S=${STORE_IN_CONTAINER}`,
    'echo "ids=$(id -u):$(id -g) groups=$(id -G)"',
    'echo "config=$CLAUDE_CONFIG_DIR"',
    // The working copy, the environment, every readable process's environment and command
    // line, the store, and the writable places a token could have been left in.
    '{ cat "$CLAUDE_CONFIG_DIR"/.credentials.json "$CLAUDE_CONFIG_DIR"/.claude.json; env; cat /proc/[0-9]*/environ /proc/[0-9]*/cmdline "$S"/captures/*/.[!.]* "$S"/captures/*/* 2>/dev/null;' +
      ' grep -rsa "" /dev/shm /tmp /home /workspace /run 2>/dev/null; } | token_hashes | sort -u | sed "s/^/seen /"',
    'echo "refreshToken in copy: $(jq -c .claudeAiOauth.refreshToken "$CLAUDE_CONFIG_DIR/.credentials.json")"',
    "claude auth status --json | grep -q '\"loggedIn\": true' && echo 'claude: logged in'",
    'for p in /var/lib/claudeauth "$S" "$S/captures"; do ls -la "$p" >/dev/null 2>&1 && echo "ls $p: allowed" || echo "ls $p: denied"; done',
    'cat "$S"/captures/*/.credentials.json >/dev/null 2>&1 && echo "cat: allowed" || echo "cat: denied"',
    'touch "$S/probe" 2>/dev/null && echo "touch: allowed" || echo "touch: denied"',
    'mkdir "$S/captures/99999999" 2>/dev/null && echo "mkdir: allowed" || echo "mkdir: denied"',
    'rm -rf "$S/captures" 2>/dev/null && echo "rm: allowed" || echo "rm: denied"',
  ].join("\n");

  const probeCases: [label: string, session: Partial<Session>, via: Via, ids: string, copy: string][] = [
    ["the store owner's uid (docker claudeauth run by the store's owner)", {}, "plugin", `${HOST_USER.uid}:${HOST_USER.gid}`, "probe-owner"],
    ["the image's runtime user (plain docker run)", {}, "docker", `${RUNTIME_UID}:${RUNTIME_UID}`, "probe-image"],
    // Root on the host: the workload must still not be root in the container.
    ["the runtime user, docker claudeauth run by root", { asRoot: true }, "plugin", `${RUNTIME_UID}:${RUNTIME_UID}`, "probe-root"],
  ];
  it.each(probeCases)("the workload run as %s can neither read the refresh token nor touch the store", async (_label, extra, via, ids, copy) => {
    // A copy of the store per case: a workload that can write the store must not break the others.
    const own = path.join(scratch, copy);
    fs.cpSync(store, own, { recursive: true, preserveTimestamps: true });
    copyOwnership(store, own);
    const before = hashTree(own);
    const result = await runSession("run", { store: own, ...extra, command: ["sh", "-c", probe] }, via);
    expectNoTokens(result);
    expect(result.exitCode, result.stderr).toBe(0);
    const out = result.stdout;
    const seen = new Set([...out.matchAll(/^seen ([0-9a-f]{64})$/gm)].map((m) => m[1]));
    // The scan works (it finds the access token the workload is meant to have) ...
    expect(seen.has(sha256(credentials.claudeAiOauth.accessToken)), "the workload does not see its access token").toBe(true);
    // ... and finds the refresh token nowhere.
    expect(seen.has(sha256(credentials.claudeAiOauth.refreshToken)), `the workload (${/^ids=.*$/m.exec(out)?.[0]}) can read the store's refresh token`).toBe(false);
    for (const attempt of ["ls /var/lib/claudeauth", `ls ${STORE_IN_CONTAINER}`, `ls ${STORE_IN_CONTAINER}/captures`, "cat", "touch", "mkdir", "rm"]) {
      expect(out).toContain(`${attempt}: denied`);
    }
    expect(out).toContain('refreshToken in copy: ""');
    expect(out).toContain("claude: logged in");
    expect(out).toContain(`ids=${ids} `);
    expect(hashTree(own)).toEqual(before);
  });

  it(`${CONCURRENT_RUNS} concurrent runs from one store: separate working copies, nothing shared, the store byte-identical`, async () => {
    const before = hashTree(store);
    const barrier = path.join(scratch, "barrier");
    fs.mkdirSync(barrier, { mode: 0o777 });
    fs.chmodSync(barrier, 0o777);
    // Every run marks its working copy, then waits until all runs have started, so they
    // really overlap; then it lists what its working copy holds.
    const script = [
      'echo "config=$CLAUDE_CONFIG_DIR"',
      'echo "$RUN" > "$CLAUDE_CONFIG_DIR/marker-$RUN"',
      'touch "/barrier/arrived-$RUN"',
      `n=0; while [ "$(ls /barrier | wc -l)" -lt ${CONCURRENT_RUNS} ] && [ $n -lt 3600 ]; do sleep 0.05; n=$((n+1)); done`,
      'echo "all-arrived=$(ls /barrier | wc -l)"',
      'echo "markers=$(cd "$CLAUDE_CONFIG_DIR" && ls -d marker-* | tr "\\n" " ")"',
      'echo "working-copies=$(ls -d "$(dirname "$(dirname "$CLAUDE_CONFIG_DIR")")"/claudeauth-* | wc -l)"',
      "claude auth status --json | grep -q '\"loggedIn\": true' && echo 'claude: logged in'",
    ].join("\n");
    const runs = await Promise.all(
      Array.from({ length: CONCURRENT_RUNS }, (_, i) =>
        runSession("run", { store, env: { RUN: String(i) }, mounts: [`${barrier}:/barrier`], command: ["sh", "-c", script] }, VIA),
      ),
    );
    const dirs = new Set<string>();
    runs.forEach((run, i) => {
      expectNoTokens(run);
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.stdout).toContain(`all-arrived=${CONCURRENT_RUNS}`);
      expect(run.stdout).toContain(`markers=marker-${i} \n`);
      expect(run.stdout).toContain("working-copies=1\n");
      expect(run.stdout).toContain("claude: logged in");
      dirs.add(/^config=(.*)$/m.exec(run.stdout)![1]!);
    });
    expect(dirs.size).toBe(CONCURRENT_RUNS);
    // No token rotated (valid for hours): no refresh, no write-back, not a byte changed.
    expect(hashTree(store)).toEqual(before);
    expect(new DirStore(store).readCurrentSync()!.credentials).toEqual(credentials);
  });
});
