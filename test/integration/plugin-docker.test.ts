// The plugin with the real engine and the real images, run as an unprivileged host user
// (in the docker group) the way a person runs it: setup with a scripted login, run, status,
// test, refresh, doctor, volume and host-dir stores, signals. No network for containers
// (--network none). Every output is scanned for tokens.
import fs from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { claudeJsonText, credentialsText, loginScript, seedStore } from "../support/fixtures";
import { findTokens } from "../support/token-scan";
import {
  docker, dockerPlugin, ensureImages, HOST_USER, makeSandbox, plugin, RUN_IMAGE, sandboxLabel, scriptsDir, spawnAs, testVolume,
  writeScript, type Sandbox,
} from "../support/docker";

const USER = process.getuid?.() === 0 ? HOST_USER : { uid: process.getuid!(), gid: process.getgid!() };
let sandbox: Sandbox;
let scripts: string;
let mount: string[];

beforeAll(async () => {
  await ensureImages();
  sandbox = makeSandbox("docker", { user: USER });
  scripts = scriptsDir(sandbox);
  mount = ["-v", `${scripts}:/scripts:ro`];
  const login = (name: string, options: Parameters<typeof loginScript>[0]) => writeScript(scripts, name, loginScript(options));
  login("login.sh", { credentials: credentialsText("docker"), claudeJson: claudeJsonText("docker@example.com"), after: 'echo "scripted login done"' });
  // The seed's case 1: the CLI left an empty credentials file (the login was not completed).
  writeScript(scripts, "login-empty.sh", 'mkdir -p "$HOME/.claude"; : > "$HOME/.claude/.credentials.json.tmp"; mv -f "$HOME/.claude/.credentials.json.tmp" "$HOME/.claude/.credentials.json"\n');
  writeScript(scripts, "setup-token.sh", `printf 'Opening browser to sign in...\\n\\n\\033[32m✓ Long-lived authentication token created successfully!\\033[0m\\n\\nYour OAuth token (valid for 1 year):\\n\\n\\033[1m%s\\033[0m\\n\\nStore this token securely.\\n' "sk-ant-oat01-$(head -c 60 /dev/urandom | base64 | tr -dc A-Za-z0-9 | head -c 70)AA"\n`);
});

afterAll(async () => {
  await sandbox?.cleanup();
});

const store = (profile: string) => path.join(sandbox.hub, profile);
/** The newest capture dir of a host store (setup may commit more than one generation). */
const current = (profile: string) => {
  const names = fs.readdirSync(path.join(store(profile), "captures")).filter((n) => /^\d{8}$/.test(n)).sort();
  return path.join(store(profile), "captures", names[names.length - 1]!);
};

async function setupProfile(profile: string, script = "login.sh", extra: string[] = []) {
  return plugin(sandbox, ["setup", "--profile", profile, "--no-tty", "--network", "none", ...mount, ...extra, "--", `/scripts/${script}`]);
}

describe("setup with a scripted login", () => {
  it("captures into a host dir the plugin created 0700, owned by the host user; prints a summary without tokens", async () => {
    const run = await setupProfile("first");
    expect(run.exitCode, run.output).toBe(0);
    expect(run.stdout).toContain("scripted login done");
    expect(run.stdout).toMatch(/^Logged in: profile first is ready\.$/m);
    expect(run.stdout).toMatch(/^Account: +docker@example\.com \(Example\)$/m);
    expect(run.stdout).toMatch(/^Subscription: +max$/m);
    expect(run.stdout).toMatch(/^Access token: +expires in 7h 59m \(/m);
    expect(run.stdout).toMatch(/^Refresh token: +present$/m);
    for (const dir of [sandbox.hub, store("first"), current("first")]) {
      const stat = fs.statSync(dir);
      expect([stat.mode & 0o777, stat.uid, stat.gid], dir).toEqual([0o700, USER.uid, USER.gid]);
    }
    const file = fs.statSync(path.join(current("first"), ".credentials.json"));
    expect([file.mode & 0o777, file.uid]).toEqual([0o600, USER.uid]);
    const status = await plugin(sandbox, ["status", "--profile", "first"]);
    expect(status.exitCode).toBe(0);
    expect(status.stdout).toMatch(/^Status: +healthy$/m);
  });

  it("a login that never completes (empty .credentials.json): nothing captured, says so once, the store it created is gone, exit 1", async () => {
    const run = await setupProfile("never", "login-empty.sh");
    expect(run.exitCode).toBe(1);
    // --network none: the container cannot reach Anthropic, so that is the advice, not another /login.
    expect(run.stderr).toMatch(/^error: the login did not complete: nothing was captured into .*never; the container could not reach Anthropic: check --network, pass -e HTTPS_PROXY behind a proxy, and --ca-cert FILE behind one that intercepts TLS \(EAI_AGAIN\)$/m);
    expect(run.stderr.match(/could not reach Anthropic/g)).toHaveLength(1);
    expect(fs.existsSync(store("never"))).toBe(false);
    // A store directory that was there before (empty, the user's) stays.
    fs.mkdirSync(store("never"), { mode: 0o700 });
    fs.chownSync(store("never"), USER.uid, USER.gid);
    expect((await setupProfile("never", "login-empty.sh")).exitCode).toBe(1);
    expect(fs.readdirSync(path.join(store("never"), "captures"))).toEqual([]);
  });

  it("setup again, exiting without a new login: says the earlier login is kept", async () => {
    expect((await setupProfile("again")).exitCode).toBe(0);
    const again = await plugin(sandbox, ["setup", "--profile", "again", "--no-tty", "--network", "none", "--", "true"]);
    expect(again.exitCode, again.output).toBe(0);
    expect(again.stdout).toMatch(/^No new login: profile again keeps its earlier login/m);
  });

  it("a second login that does not complete keeps the earlier capture, and says so", async () => {
    expect((await setupProfile("keep")).exitCode).toBe(0);
    const again = await setupProfile("keep", "login-empty.sh");
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toMatch(/warn: the login did not complete; the earlier capture is kept \(#\d+ from /);
    expect(again.stdout).toMatch(/^Status: +healthy$/m);
  });

  it("through the docker CLI (docker claudeauth setup) with a Docker volume as the store", async () => {
    const volume = testVolume("setup");
    const run = await dockerPlugin(sandbox, ["claudeauth", "setup", "--profile", "vol", "--store-volume", volume, "--no-tty", "--network", "none", ...mount, "--", "/scripts/login.sh"]);
    expect(run.exitCode, run.output).toBe(0);
    expect(run.stderr).toContain(`created volume ${volume} for profile vol`);
    expect(run.stdout).toMatch(/^Store: +volume claudeauth-test-setup-/m);
    const labels = await docker(["volume", "inspect", "--format", '{{index .Labels "io.claudeauth.profile"}}', volume]);
    expect(labels.stdout.trim()).toBe("vol");

    const status = await dockerPlugin(sandbox, ["claudeauth", "status", "--profile", "vol", "--store-volume", volume, "--json"]);
    expect(status.exitCode, status.output).toBe(0);
    const json = JSON.parse(status.stdout);
    expect(json).toMatchObject({ healthy: true, mode: "oauth", store: { kind: "volume", location: volume }, account: { email: "docker@example.com" } });
    expect(json.files).toEqual(expect.arrayContaining([{ path: expect.stringMatching(/^captures\/\d{8}\/\.credentials\.json$/), type: "file", mode: "0600", owner: "0:0" }]));

    const ran = await plugin(sandbox, ["run", "--profile", "vol", "--store-volume", volume, "--network", "none", "--no-workspace", "--", "sh", "-c", 'test -s "$CLAUDE_CONFIG_DIR/.credentials.json" && echo has-credentials']);
    expect(ran.exitCode, ran.output).toBe(0);
    expect(ran.stdout).toContain("has-credentials");

    const listed = await plugin(sandbox, ["profile", "ls", "--json"]);
    expect(JSON.parse(listed.stdout)).toEqual(expect.arrayContaining([expect.objectContaining({ profile: "vol", kind: "volume", store: volume, status: null })]));
    const removed = await plugin(sandbox, ["profile", "rm", "--force", "--store-volume", volume]);
    expect(removed.exitCode, removed.output).toBe(0);
    expect((await docker(["volume", "inspect", volume])).exitCode).not.toBe(0);
  });

  it("run, test and refresh on a volume that does not exist: not logged in, and no empty volume is left behind", async () => {
    const volume = `claudeauth-test-typo-${process.pid}`;
    for (const args of [["run", "--", "true"], ["refresh"]]) {
      const run = await plugin(sandbox, [args[0]!, "--store-volume", volume, "--network", "none", ...args.slice(1)]);
      expect(run.exitCode, run.output).toBe(1);
      expect(run.stderr).toMatch(new RegExp(`not logged in: profile default has no store at volume ${volume}; log in first with "docker claudeauth setup --store-volume ${volume}"`));
    }
    const check = await plugin(sandbox, ["test", "--store-volume", volume, "--network", "none"]);
    expect(check.stdout).toMatch(/^not logged in: profile default has no store at volume /);
    expect((await docker(["volume", "inspect", volume])).exitCode).not.toBe(0);
  });

  it("--token-stdin into a volume: the entrypoint stores it there (the token on stdin, never on a command line)", async () => {
    const volume = testVolume("token");
    const token = `sk-ant-oat01-${"V".repeat(60)}`;
    const stored = await plugin(sandbox, ["setup", "--store-volume", volume, "--token-stdin"], { input: `${token}\n` });
    expect(stored.exitCode, stored.output).toBe(0);
    expect(stored.stdout).toMatch(/^Mode: +long-lived token/m);
    expect(stored.output).not.toContain(token);
    const inVolume = await docker(["run", "--rm", "--network", "none", "-v", `${volume}:/store:ro`, "--entrypoint", "/bin/sh", RUN_IMAGE, "-c", "cat /store/captures/*/oauth-token"], { allowTokens: "reads the stored token to compare it" });
    expect(inVolume.stdout.trim()).toBe(token);
    const status = await plugin(sandbox, ["status", "--store-volume", volume, "--json"]);
    expect(JSON.parse(status.stdout)).toMatchObject({ healthy: true, mode: "long-lived" });
    await docker(["volume", "rm", volume]);
  });

  it("--long-lived captures the token `claude setup-token` prints, never showing it", async () => {
    const run = await plugin(sandbox, ["setup", "--profile", "ll", "--long-lived", "--no-tty", "--network", "none", ...mount, "--", "/scripts/setup-token.sh"]);
    expect(run.exitCode, run.output).toBe(0);
    expect(run.stdout).toContain("Your OAuth token (valid for 1 year):");
    expect(run.stdout).toContain("sk-ant-oat01-[REDACTED]");
    expect(run.stdout).toMatch(/^Mode: +long-lived token/m);
    const capture = current("ll");
    const token = fs.readFileSync(path.join(capture, "oauth-token"), "utf8").trim();
    expect(token).toMatch(/^sk-ant-oat01-[A-Za-z0-9]{70}AA$/);
    expect(fs.statSync(path.join(capture, "oauth-token")).mode & 0o777).toBe(0o600);
    expect(run.output).not.toContain(token);
  });
});

describe("run", () => {
  beforeAll(async () => {
    const run = await setupProfile("runner");
    if (run.exitCode !== 0) throw new Error(run.output);
  });

  it("propagates the exit code; the workspace is the current dir, written as the host user", async () => {
    const workspace = path.join(sandbox.dir, "workspace");
    fs.mkdirSync(workspace, { mode: 0o755 });
    fs.chownSync(workspace, USER.uid, USER.gid);
    const run = await plugin(sandbox, ["run", "--profile", "runner", "--network", "none", "--", "sh", "-c", 'pwd; id -u; echo made > created.txt; exit 7'], { cwd: workspace });
    expect(run.exitCode, run.output).toBe(7);
    expect(run.stdout.split("\n").slice(0, 2)).toEqual(["/workspace", String(USER.uid)]);
    const created = fs.statSync(path.join(workspace, "created.txt"));
    expect([created.uid, created.gid]).toEqual([USER.uid, USER.gid]);
  });

  it("--workdir, -e, -v pass through; stdin is piped into the workload", async () => {
    const dir = path.join(sandbox.dir, "other-workspace");
    fs.mkdirSync(dir, { mode: 0o777 });
    const run = await plugin(
      sandbox,
      ["run", "--profile", "runner", "--network", "none", "-w", dir, "-e", "GREETING=hello", "-v", `${scripts}:/extra:ro`, "--", "sh", "-c", 'echo "$GREETING"; ls /extra/login.sh; cat; ls /workspace'],
      { input: "from stdin\n" },
    );
    expect(run.exitCode, run.output).toBe(0);
    expect(run.stdout.split("\n")).toEqual(["hello", "/extra/login.sh", "from stdin"]);
  });

  it("the image's default command is claude (the real CLI), logged in from the store", async () => {
    const run = await plugin(sandbox, ["run", "--profile", "runner", "--network", "none", "--no-workspace", "--", "claude", "auth", "status", "--json"]);
    expect(run.exitCode, run.output).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ loggedIn: true, email: "docker@example.com" });
  });

  it("no token is on the docker command line: docker inspect of a running long-lived run shows none", async () => {
    const name = `claudeauth-inspect-${process.pid}`;
    const child = spawnAs(sandbox, ["docker", "claudeauth", "run", "--profile", "ll", "--network", "none", "--no-workspace", "--name", name, "--", "sh", "-c", 'test -n "$CLAUDE_CODE_OAUTH_TOKEN" && echo token-inside; sleep 5']);
    let inspect = "";
    for (let i = 0; i < 100 && !inspect; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const result = await docker(["inspect", name]);
      if (result.exitCode === 0) inspect = result.stdout;
    }
    const result = await child;
    expect(inspect).not.toBe("");
    const token = fs.readFileSync(path.join(current("ll"), "oauth-token"), "utf8").trim();
    expect(inspect).not.toContain(token);
    expect(findTokens(inspect)).toEqual([]);
    expect(String(result.stdout)).toContain("token-inside");
    expect(findTokens(String(result.stdout) + String(result.stderr))).toEqual([]);
  });

  it("SIGTERM to docker (plugin socket) and SIGINT to the plugin: 143 / 130, and no container is left", async () => {
    for (const [target, signal, code] of [["docker", "SIGTERM", 143], ["plugin", "SIGINT", 130]] as const) {
      const name = `claudeauth-signal-${process.pid}-${code}`;
      const child = spawnAs(sandbox, ["docker", "claudeauth", "run", "--profile", "runner", "--network", "none", "--no-workspace", "--name", name, "--", "sleep", "60"]);
      for (let i = 0; i < 150; i++) {
        if ((await docker(["ps", "-q", "--filter", `name=^${name}$`])).stdout.trim()) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      if (target === "docker") child.kill(signal);
      else {
        const pids = await execa("pgrep", ["-f", `docker-claudeauth claudeauth run --profile runner .*${name}`], { reject: false });
        process.kill(Number(String(pids.stdout).split("\n")[0]), signal);
      }
      const result = await child;
      expect(result.exitCode, `${target} ${signal}: ${result.all ?? result.stderr}`).toBe(code);
      expect((await docker(["ps", "-aq", "--filter", `name=^${name}$`])).stdout.trim()).toBe("");
    }
  });
});

describe("test: a real request from a production container", () => {
  it("an empty store: not logged in, next step setup", async () => {
    fs.mkdirSync(store("nologin"), { recursive: true, mode: 0o700 });
    const run = await plugin(sandbox, ["test", "--profile", "nologin", "--network", "none"]);
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(/^not logged in: /);
    expect(run.stdout).toMatch(/next: docker claudeauth setup --profile nologin$/m);
  });

  it("credentials but no network: network unreachable, next step names --network", async () => {
    expect((await setupProfile("offline")).exitCode).toBe(0);
    const run = await plugin(sandbox, ["test", "--profile", "offline", "--network", "none", "--json"]);
    expect(run.exitCode).toBe(1);
    const verdict = JSON.parse(run.stdout);
    expect(verdict).toMatchObject({ profile: "offline", result: "network" });
    expect(verdict.detail).toMatch(/could not reach the API: API Error: Unable to connect/);
    expect(verdict.next).toMatch(/--network/);
  });
});

describe("refresh", () => {
  it("--if-expiring-within on a fresh token does nothing (no container)", async () => {
    expect((await setupProfile("fresh")).exitCode).toBe(0);
    const run = await plugin(sandbox, ["refresh", "--profile", "fresh", "--if-expiring-within", "1h"]);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/^access token valid for more than 1h 0m .*: nothing to do$/);
  });

  it("without a network the refresh fails and says the endpoint could not be reached; the store is unchanged", async () => {
    const before = fs.readdirSync(path.join(store("fresh"), "captures"));
    const run = await plugin(sandbox, ["refresh", "--profile", "fresh", "--network", "none"]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/^error: refresh failed: cannot reach the token endpoint \S+ \(getaddrinfo EAI_AGAIN \S+\); the container could not reach Anthropic: check --network, pass -e HTTPS_PROXY/);
    expect(run.stderr.match(/check (--network|the container's network)/g)).toHaveLength(1);
    expect(fs.readdirSync(path.join(store("fresh"), "captures"))).toEqual(before);
  });

  it("a long-lived profile has nothing to refresh", async () => {
    const run = await plugin(sandbox, ["refresh", "--profile", "ll"]);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/long-lived token: nothing to refresh/);
  });
});

describe("doctor: the seed's four troubleshooting cases, made real", () => {
  const fails = (text: string) => text.split("\n").filter((l) => l.startsWith("[fail]"));

  it("a healthy profile: engine, plugin, images, store all ok", async () => {
    expect((await setupProfile("doc-ok")).exitCode).toBe(0);
    const run = await dockerPlugin(sandbox, ["claudeauth", "doctor", "--profile", "doc-ok"]);
    // The current context, or the engine this test run was started against (DOCKER_HOST).
    expect(run.stdout).toMatch(/^\[ok\] +Docker engine reachable \((the current context|host \S+ \(DOCKER_HOST\))\): server \S+, client \S+$/m);
    expect(run.stdout).toMatch(new RegExp(`^\\[ok\\] +plugin installed: ${sandbox.dockerConfig}/cli-plugins/docker-claudeauth`, "m"));
    expect(run.stdout).toMatch(/^\[ok\] +image claudeauth\/run:\S+ present$/m);
    expect(run.stdout).toMatch(/^\[ok\] +store .*doc-ok \(profile doc-ok\): healthy, oauth, access token expires in 7h/m);
    expect(run.stdout).toMatch(/^\[ok\] +clocks agree/m);
    expect(fails(run.stdout).filter((l) => /doc-ok|image|plugin|Docker engine/.test(l))).toEqual([]);
  });

  it("1. empty .credentials.json: the login was not completed → setup", async () => {
    // An empty store directory of the user's (one setup created itself would be removed again).
    fs.mkdirSync(store("doc-empty"), { mode: 0o700 });
    fs.chownSync(store("doc-empty"), USER.uid, USER.gid);
    expect((await setupProfile("doc-empty", "login-empty.sh")).exitCode).toBe(1);
    const noCapture = await plugin(sandbox, ["doctor", "--profile", "doc-empty"]);
    expect(noCapture.exitCode).toBe(1);
    expect(noCapture.stdout).toMatch(/\[fail\] store .*doc-empty.*holds no capture yet.*\n +fix: docker claudeauth setup --profile doc-empty/);
    // A capture whose credentials file was emptied afterwards (a truncated copy).
    expect((await setupProfile("doc-trunc")).exitCode).toBe(0);
    fs.writeFileSync(path.join(current("doc-trunc"), ".credentials.json"), "");
    const truncated = await plugin(sandbox, ["doctor", "--profile", "doc-trunc"]);
    expect(truncated.stdout).toMatch(/\[fail\] .*\.credentials\.json is empty: the login was not completed\n +fix: docker claudeauth setup --profile doc-trunc/);
    // The seed's own layout: ~/.claude-hub holding a copy of ~/.claude with an empty file.
    fs.writeFileSync(path.join(sandbox.hub, ".credentials.json"), "", { mode: 0o600 });
    fs.chownSync(path.join(sandbox.hub, ".credentials.json"), USER.uid, USER.gid);
    const legacy = await plugin(sandbox, ["doctor", "--profile", "doc-ok"]);
    fs.rmSync(path.join(sandbox.hub, ".credentials.json"));
    expect(legacy.stdout).toMatch(/\[warn\] .*\.claude-hub holds a copy of ~\/\.claude made by the old setup scripts and its \.credentials\.json is empty/);
  });

  it("2. permission mismatch: files of another owner cannot be read → chown", async () => {
    expect((await setupProfile("doc-perm")).exitCode).toBe(0);
    for (const file of [store("doc-perm"), path.join(store("doc-perm"), "captures"), current("doc-perm"), path.join(current("doc-perm"), ".credentials.json")]) fs.chownSync(file, 0, 0);
    const run = await plugin(sandbox, ["doctor", "--profile", "doc-perm"]);
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(new RegExp(`\\[fail\\] .*cannot read ${store("doc-perm")}.*: permission denied \\(owned by 0:0, mode 0700\\)\\n +fix: sudo chown -R ${USER.uid}:${USER.gid} ${store("doc-perm")}`));
    const status = await plugin(sandbox, ["status", "--profile", "doc-perm"]);
    expect(status.exitCode).toBe(1);
    expect(status.stdout).toMatch(/^Status: +unreadable$/m);
  });

  it("3. expired token → a note: the next run or refresh renews it (the refresh token is there)", async () => {
    fs.mkdirSync(store("doc-expired"), { recursive: true, mode: 0o700 });
    fs.chownSync(store("doc-expired"), USER.uid, USER.gid);
    await seedStore(store("doc-expired"), { ".credentials.json": credentialsText("expired", { expiresInMs: -3_600_000 }) }, USER);
    const run = await plugin(sandbox, ["doctor", "--profile", "doc-expired"]);
    expect(run.stdout).toMatch(/\[ok\] +.*the access token expired 1h 0m ago; the refresh token renews it at the next run \(or "docker claudeauth refresh --profile doc-expired"\)/);
    expect(run.stdout).not.toMatch(/\[fail\] .*store/);
  });

  it("4. mount path wrong: a container mounting the store where the entrypoint does not look", async () => {
    expect((await setupProfile("doc-mount")).exitCode).toBe(0);
    const created = await docker(["create", "--network", "none", ...sandboxLabel(sandbox), "-v", `${store("doc-mount")}:/home/claude/.claude`, RUN_IMAGE]);
    expect(created.exitCode, created.output).toBe(0);
    const id = created.stdout.trim();
    const name = (await docker(["inspect", "--format", "{{.Name}}", id])).stdout.trim().replace(/^\//, "");
    const run = await plugin(sandbox, ["doctor", "--profile", "doc-mount"]);
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain(
      `[fail] container ${name} mounts ${store("doc-mount")} at /home/claude/.claude, but the entrypoint reads the store at /var/lib/claudeauth/store: it finds no credentials ("not logged in")`,
    );
    expect(run.stdout).toContain(`fix: docker rm -f ${name}; mount the store at /var/lib/claudeauth/store (-v ${store("doc-mount")}:/var/lib/claudeauth/store), or start it with: docker claudeauth run`);
    await docker(["rm", "-f", id]);
  });

  it("clock: a capture dated in the future and an expiry far beyond a token's life are flagged", async () => {
    fs.mkdirSync(store("doc-clock"), { recursive: true, mode: 0o700 });
    fs.chownSync(store("doc-clock"), USER.uid, USER.gid);
    const capture = await seedStore(store("doc-clock"), { ".credentials.json": credentialsText("clock", { expiresInMs: 5 * 24 * 3_600_000 }) }, USER);
    const meta = path.join(capture.dir, "claudeauth.json");
    const data = JSON.parse(fs.readFileSync(meta, "utf8"));
    fs.writeFileSync(meta, JSON.stringify({ ...data, capturedAt: new Date(Date.now() + 3 * 3_600_000).toISOString() }));
    const run = await plugin(sandbox, ["doctor", "--profile", "doc-clock", "--json"]);
    const checks = JSON.parse(run.stdout).checks as { level: string; message: string; fix?: string }[];
    expect(checks).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ level: "warn", message: expect.stringMatching(/dated 2h 59m in the future/), fix: "sudo timedatectl set-ntp true" }),
        expect.objectContaining({ level: "warn", message: expect.stringMatching(/far later than OAuth access tokens live/) }),
        expect.objectContaining({ name: "clock", level: "ok" }),
      ]),
    );
  });
});

describe("Docker's global flags reach every docker call", () => {
  it("-H to a missing socket: doctor names that engine; status of a volume fails naming it", async () => {
    const doctor = await dockerPlugin(sandbox, ["-H", "unix:///nonexistent/docker.sock", "claudeauth", "doctor", "--profile", "first"]);
    expect(doctor.exitCode).toBe(1);
    expect(doctor.stdout).toMatch(/^\[fail\] cannot reach the Docker engine \(host unix:\/\/\/nonexistent\/docker\.sock\): Cannot connect to the Docker daemon at unix:\/\/\/nonexistent\/docker\.sock/m);
    const status = await dockerPlugin(sandbox, ["-H", "unix:///nonexistent/docker.sock", "claudeauth", "status", "--store-volume", "whatever"]);
    expect(status.exitCode).toBe(1);
    expect(status.stderr).toMatch(/^error: cannot reach the Docker engine \(host unix:\/\/\/nonexistent\/docker\.sock\)/);
  });

  it("--context NAME (a context whose endpoint is missing) is honoured; --config is passed on", async () => {
    const create = await dockerPlugin(sandbox, ["context", "create", "claudeauth-missing", "--docker", "host=unix:///nonexistent/ctx.sock"]);
    expect(create.exitCode, create.output).toBe(0);
    const run = await dockerPlugin(sandbox, ["--context", "claudeauth-missing", "claudeauth", "test", "--profile", "first"]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/cannot reach the Docker engine \(context claudeauth-missing\): .*nonexistent\/ctx\.sock/);
    const config = await dockerPlugin(sandbox, ["--config", sandbox.dockerConfig, "--context", "claudeauth-missing", "claudeauth", "doctor"], { env: { DOCKER_CONFIG: "/nonexistent" } });
    expect(config.stdout).toMatch(/\[fail\] cannot reach the Docker engine \(context claudeauth-missing\)/);
  });
});

describe("build", () => {
  it("refuses a CA file that is missing or not PEM (usage error, nothing built)", async () => {
    const missing = await plugin(sandbox, ["build", "--ca-cert", "/nonexistent/ca.pem"]);
    expect(missing.exitCode).toBe(125);
    expect(missing.stderr).toMatch(/cannot read the CA certificate \/nonexistent\/ca\.pem: ENOENT/);
    const notPem = path.join(sandbox.dir, "not.pem");
    fs.writeFileSync(notPem, "hello\n");
    const bad = await plugin(sandbox, ["build", "--ca-cert", notPem]);
    expect(bad.exitCode).toBe(125);
    expect(bad.stderr).toMatch(/holds no PEM certificate/);
  });
});
