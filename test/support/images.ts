import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa, type Options as ExecaOptions } from "execa";
import { afterAll, beforeAll } from "vitest";
import { acquireLock } from "../../core/lock";
import { serializeJson } from "../../core/credentials";
import { scanOutput, trackSecret } from "./token-scan";

// What the end-to-end image tests share (and the plugin's tests, through test/support/docker.ts):
// the two real images (built once, rebuilt when the entrypoint under test changes), the plugin
// installed where the real docker CLI finds it and run as an ordinary host user, container
// names the tests own, stores and scripted logins.

export const ROOT = path.resolve(__dirname, "../..");
export const VERSION: string = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).version;
/**
 * Where the binaries under test are: in a vitest run the private snapshot of dist/ that the
 * global setup made (so a `npm run build` during the run cannot swap them mid-test), else dist/.
 * Settled by ensureImages(), which every test file awaits first.
 */
let binDir = path.join(ROOT, "dist");
export const pluginBinary = () => path.join(binDir, "docker-claudeauth");
export const entrypointBinary = () => path.join(binDir, "claudeauth-entrypoint");

async function settleBinaries(): Promise<void> {
  try {
    const { inject } = await import("vitest");
    const dir = inject("claudeauthBin");
    if (dir && fs.existsSync(path.join(dir, "docker-claudeauth"))) binDir = dir;
  } catch {
    // not in a vitest worker (a bench): dist/
  }
}
export const SETUP_IMAGE = `claudeauth/setup:${VERSION}`;
export const RUN_IMAGE = `claudeauth/run:${VERSION}`;
export const STORE_IN_CONTAINER = "/var/lib/claudeauth/store";
export const RUNTIME_UID = 10001;
/** The CA bundle image builds trust (the host's; a TLS-intercepting proxy signs with it). */
export const BUILD_CA = "/etc/ssl/certs/ca-certificates.crt";
const CACHE = path.join(ROOT, ".cache");

export type Images = { setup: string; run: string; builtWith: "present" | "plugin" | "docker build" };

let imagesPromise: Promise<Images> | null = null;

/**
 * Both images, current with the entrypoint under test. Built with `docker-claudeauth build`
 * when the plugin can, else with `docker build` from the repository's Dockerfiles. Parallel
 * test files share one build (a lock); an image whose entrypoint differs from the one under
 * test is rebuilt (the layer cache keeps that to a few seconds).
 */
export function ensureImages(): Promise<Images> {
  imagesPromise ??= (async () => {
    await settleBinaries();
    fs.mkdirSync(CACHE, { recursive: true });
    const lock = await acquireLock(path.join(CACHE, "e2e-images.lock"), { timeoutMs: 20 * 60_000, staleMs: 20 * 60_000 });
    try {
      const want = sha256File(entrypointBinary());
      if (await carry(want)) return { setup: SETUP_IMAGE, run: RUN_IMAGE, builtWith: "present" as const };
      let builtWith: Images["builtWith"] = "docker build";
      if (await pluginCanBuild()) {
        await buildWithPlugin();
        builtWith = "plugin";
      }
      // The plugin builds with the entrypoint it carries; when the two binaries come from
      // different builds (a `npm run build` racing this one), build from the entrypoint itself.
      if (builtWith === "docker build" || !(await carry(sha256File(entrypointBinary())))) {
        const copied = await buildWithDocker();
        builtWith = "docker build";
        if (!(await carry(copied))) throw new Error(`${SETUP_IMAGE} / ${RUN_IMAGE} were built but do not carry the entrypoint they were built with`);
      }
      return { setup: SETUP_IMAGE, run: RUN_IMAGE, builtWith };
    } finally {
      lock.release();
    }
  })();
  return imagesPromise;
}

async function carry(digest: string): Promise<boolean> {
  for (const image of [SETUP_IMAGE, RUN_IMAGE]) if ((await entrypointDigest(image)) !== digest) return false;
  return true;
}

function sha256File(file: string): string {
  return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/** sha256 of the entrypoint inside an image (remembered per image id); null when the image is missing. */
async function entrypointDigest(image: string): Promise<string | null> {
  const inspect = await execa("docker", ["image", "inspect", "--format", "{{.Id}}", image], { reject: false });
  if (inspect.exitCode !== 0) return null;
  const id = inspect.stdout.trim();
  const memo = path.join(CACHE, "e2e-image-digests.json");
  let known: Record<string, string> = {};
  try {
    known = JSON.parse(fs.readFileSync(memo, "utf8"));
  } catch {
    // first use
  }
  if (known[id]) return known[id];
  const sum = await execa("docker", ["run", "--rm", "--network", "none", "--entrypoint", "sha256sum", image, "/usr/local/bin/claudeauth-entrypoint"], { reject: false });
  if (sum.exitCode !== 0) return null;
  known[id] = sum.stdout.split(/\s+/)[0]!;
  fs.writeFileSync(memo, JSON.stringify(known, null, 2) + "\n");
  return known[id];
}

async function pluginCanBuild(): Promise<boolean> {
  const help = await execa(pluginBinary(), ["build", "--help"], { reject: false, timeout: 20_000 });
  return help.exitCode === 0 && /--ca-cert/.test(help.stdout + help.stderr);
}

async function buildWithPlugin(): Promise<void> {
  const result = await execa(pluginBinary(), ["build", "--network", "host", "--ca-cert", BUILD_CA], { reject: false, all: true, timeout: 20 * 60_000 });
  if (result.exitCode !== 0) throw new Error(`docker-claudeauth build failed (exit ${result.exitCode}):\n${tail(result.all)}`);
}

/** Builds both images with the entrypoint under test; the sha256 of the entrypoint it used. */
async function buildWithDocker(): Promise<string> {
  const context = fs.mkdtempSync(path.join(os.tmpdir(), "claudeauth-e2e-context-"));
  try {
    fs.copyFileSync(entrypointBinary(), path.join(context, "claudeauth-entrypoint"));
    const digest = sha256File(path.join(context, "claudeauth-entrypoint"));
    fs.copyFileSync(BUILD_CA, path.join(context, "extra-ca.pem"));
    for (const [dockerfile, image] of [["Dockerfile.claude-setup", SETUP_IMAGE], ["Dockerfile", RUN_IMAGE]] as const) {
      const result = await execa("docker", ["build", "--network", "host", "-q", "-f", path.join(ROOT, "docker", dockerfile), "-t", image, context], {
        reject: false,
        all: true,
        timeout: 20 * 60_000,
      });
      if (result.exitCode !== 0) throw new Error(`docker build ${dockerfile} failed:\n${tail(result.all)}`);
    }
    return digest;
  } finally {
    fs.rmSync(context, { recursive: true, force: true });
  }
}

function tail(text: string | undefined, lines = 40): string {
  return (text ?? "").split("\n").slice(-lines).join("\n");
}

// ---------------------------------------------------------------------------------------
// The plugin as users run it: `docker claudeauth ...`, found by the real docker CLI in a
// DOCKER_CONFIG of our own, run by an ordinary host user. The tests run as root (CI); the
// plugin then runs as HOST_USER (neither 0 nor the usual 1000) in the docker group, so that
// "owned by the invoking user" and "the workload runs with the user's uid" mean something.

export const HOST_USER = process.getuid?.() === 0 ? { uid: 31337, gid: 31337 } : { uid: process.getuid!(), gid: process.getgid!() };

let dockerConfig: string | null = null;
let hostHome: string | null = null;

/** A DOCKER_CONFIG dir whose cli-plugins/ holds the plugin under test (a symlink). */
export function pluginDockerConfig(): string {
  if (dockerConfig && fs.existsSync(dockerConfig)) return dockerConfig;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "claudeauth-e2e-docker-config-"));
  fs.chmodSync(dir, 0o755);
  fs.mkdirSync(path.join(dir, "cli-plugins"), { mode: 0o755 });
  fs.symlinkSync(pluginBinary(), path.join(dir, "cli-plugins", "docker-claudeauth"));
  fs.writeFileSync(path.join(dir, "config.json"), "{}\n", { mode: 0o644 });
  dockerConfig = dir;
  return dir;
}

/** Removes the DOCKER_CONFIG and the host user's home made for this test file (call in afterAll). */
export function removePluginDirs(): void {
  for (const dir of [dockerConfig, hostHome]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dockerConfig = hostHome = null;
}

/** A directory owned by HOST_USER (0755): its home, or a parent the plugin may create stores in. */
export function hostUserDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `claudeauth-e2e-${prefix}-`));
  fs.chmodSync(dir, 0o755);
  fs.chownSync(dir, HOST_USER.uid, HOST_USER.gid);
  return dir;
}

function hostUserHome(): string {
  if (hostHome && fs.existsSync(hostHome)) return hostHome;
  hostHome = hostUserDir("home");
  return hostHome;
}

/** The group of the engine's socket (DOCKER_HOST's when it names a unix socket): what a member of the docker group has. */
export function engineSocketGroup(): number {
  const host = process.env.DOCKER_HOST ?? "";
  return fs.statSync(host.startsWith("unix://") ? host.slice("unix://".length) : "/var/run/docker.sock").gid;
}

/** argv that runs `command` as HOST_USER, with the engine socket's group (as a member of the docker group). */
export function asHostUser(command: string[]): string[] {
  if (process.getuid?.() !== 0) return command;
  const socketGroup = engineSocketGroup();
  return ["setpriv", "--reuid", String(HOST_USER.uid), "--regid", String(HOST_USER.gid), "--groups", String(socketGroup), "--", ...command];
}

export function pluginEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { DOCKER_CONFIG: pluginDockerConfig(), HOME: hostUserHome(), ...extra };
}

export type Run = { exitCode: number; stdout: string; stderr: string; ms: number };

/** Plain `docker ARGS`; never throws for a non-zero exit. Its output is scanned for tokens. */
export async function docker(args: string[], options: ExecaOptions = {}): Promise<Run> {
  const run = await timed(execa("docker", args, { reject: false, stdin: "ignore", ...options }));
  scanOutput(`docker ${args[0] ?? ""}`, run.stdout, run.stderr);
  return run;
}

async function timed(child: Promise<{ exitCode?: number; stdout?: unknown; stderr?: unknown }>): Promise<Run> {
  const started = performance.now();
  const result = await child;
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout ?? ""), stderr: String(result.stderr ?? ""), ms: performance.now() - started };
}

// ---------------------------------------------------------------------------------------
// Containers the tests own: a unique prefix per test process, removed at the end.

const PREFIX = `cae2e-${process.pid}-${crypto.randomBytes(2).toString("hex")}`;
let counter = 0;

export function containerName(what: string): string {
  return `${PREFIX}-${what}-${++counter}`;
}

/**
 * Removes every container this process named, plus any that mount one of `sources`
 * (containers the plugin named), and the plugin's DOCKER_CONFIG and home: a test file's afterAll.
 */
/**
 * For a test file: the images, a scratch dir owned by the host user, and store paths in it
 * that do not exist yet (the plugin creates them, as the invoking user); containers using
 * them and the dir are removed after the file.
 */
export function useScratchStores(prefix: string): { dir(): string; newStore(name: string): string } {
  let scratch = "";
  const stores: string[] = [];
  beforeAll(async () => {
    await ensureImages();
    scratch = hostUserDir(prefix);
  });
  afterAll(async () => {
    await removeContainers(stores);
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });
  return {
    dir: () => scratch,
    newStore(name) {
      const store = path.join(scratch, name);
      stores.push(store);
      return store;
    },
  };
}

export async function removeContainers(sources: string[] = []): Promise<void> {
  removePluginDirs();
  const filters = [["--filter", `name=${PREFIX}`], ...sources.map((source) => ["--filter", `volume=${source}`])];
  const ids = new Set<string>();
  for (const filter of filters) {
    const result = await docker(["ps", "-aq", ...filter]);
    for (const id of result.stdout.split("\n").filter(Boolean)) ids.add(id);
  }
  if (ids.size > 0) await docker(["rm", "-f", ...ids]);
}

// ---------------------------------------------------------------------------------------
// Credentials and scripted logins.

/** Token-shaped credentials in the CLI's format; both tokens are tracked by the token scanner. */
export function oauthCredentials(label: string, expiresInMs = 8 * 3_600_000) {
  const token = (kind: string) => `sk-ant-${kind}01-${label}-${crypto.randomBytes(30).toString("base64url")}`;
  const credentials = {
    claudeAiOauth: {
      accessToken: token("oat"),
      refreshToken: token("ort"),
      expiresAt: Date.now() + expiresInMs,
      scopes: ["user:inference", "user:profile", "user:sessions:claude_code"],
      subscriptionType: "max",
    },
  };
  trackSecret(credentials.claudeAiOauth.accessToken);
  trackSecret(credentials.claudeAiOauth.refreshToken);
  return credentials;
}

export function claudeJson(email = "e2e@example.com"): Record<string, unknown> {
  return {
    hasCompletedOnboarding: true,
    lastOnboardingVersion: "2.1.197",
    oauthAccount: { emailAddress: email, organizationName: "Example", accountUuid: crypto.randomUUID() },
    userID: crypto.randomBytes(16).toString("hex"),
  };
}

export type LoginSteps = {
  /** What ~/.claude/.credentials.json holds ("" writes an empty file); omitted: not written. */
  credentials?: unknown;
  claudeJson?: unknown;
  /** Shell after the files are written (default: exit 0). */
  after?: string;
};

/**
 * A scripted stand-in for `claude` logging in, run as the setup command: it writes
 * ~/.claude/.credentials.json and ~/.claude.json the way the CLI does (a temp file in the
 * same directory, then rename). Written to `dir/name` (0755) for a read-only bind mount.
 */
export function writeLoginScript(dir: string, name: string, steps: LoginSteps): string {
  const write = (target: string, value: unknown) => {
    const text = value === "" ? "" : typeof value === "string" ? value : serializeJson(value);
    return [
      `cat > "${target}.tmp.$$" <<'CLAUDEAUTH_E2E_EOF'`,
      ...(text === "" ? [] : [text.replace(/\n$/, "")]),
      "CLAUDEAUTH_E2E_EOF",
      ...(text === "" ? [`: > "${target}.tmp.$$"`] : []),
      `mv -f "${target}.tmp.$$" "${target}"`,
    ].join("\n");
  };
  const script = [
    "#!/bin/sh",
    "# Scripted login: writes credentials as the Claude CLI does (temp file + rename).",
    "set -e",
    "umask 077",
    'mkdir -p "$HOME/.claude"',
    steps.credentials !== undefined ? write("$HOME/.claude/.credentials.json", steps.credentials) : "",
    steps.claudeJson !== undefined ? write("$HOME/.claude.json", steps.claudeJson) : "",
    steps.after ?? "exit 0",
    "",
  ].join("\n");
  const file = path.join(dir, name);
  fs.writeFileSync(file, script, { mode: 0o755 });
  fs.chmodSync(file, 0o755);
  return file;
}

export function sha256(text: string): string {
  return crypto.createHash("sha256").update(text).digest("hex");
}

/**
 * Shell that prints the sha256 of every token-shaped string found in the given files / the
 * output of the given commands: a test learns which tokens a container could see without a
 * token ever crossing the container boundary or reaching the test output.
 */
export const TOKEN_HASHES = `token_hashes() { grep -aoE 'sk-ant-[a-z]{2,5}[0-9]{0,3}-[A-Za-z0-9_-]{8,}' | while read -r t; do printf %s "$t" | sha256sum | cut -c1-64; done; }`;

// ---------------------------------------------------------------------------------------
// Sessions: one setup or run container, through the plugin where it supports what the test
// needs, else with plain `docker run` and the same mounts and environment the plugin uses.

export type Via = "plugin" | "docker";

export type Session = {
  store: string;
  /** The command after `--` (default: the image's, `claude`). */
  command?: string[];
  /** Extra bind mounts, as -v host:container[:ro]. */
  mounts?: string[];
  env?: Record<string, string>;
  network?: "none" | "host";
  tty?: boolean;
  /** Through the plugin: run it as root instead of HOST_USER. */
  asRoot?: boolean;
};

export type Invocation = { argv: string[]; env: Record<string, string>; name: string | null; via: Via };

/**
 * The command line of a setup or run session. Through the plugin:
 * `docker claudeauth setup|run --store DIR --network N [-e ..] [-v ..] -- COMMAND`, run as
 * HOST_USER. With plain docker: `docker run` of the image with what the plugin would add
 * for setup (CLAUDEAUTH_OWNER, the invoking user's ids), and the image's defaults for run.
 */
export function sessionInvocation(mode: "setup" | "run", session: Session, via: Via): Invocation {
  const network = session.network ?? "none";
  const envArgs = Object.entries(session.env ?? {}).flatMap(([name, value]) => ["-e", `${name}=${value}`]);
  const mountArgs = (session.mounts ?? []).flatMap((mount) => ["-v", mount]);
  const command = session.command ?? [];
  if (via === "plugin") {
    const plugin = [
      "docker", "claudeauth", mode, "--store", session.store, "--network", network, ...(session.tty ? [] : ["--no-tty"]),
      ...(mode === "run" ? ["--no-workspace"] : []), ...envArgs, ...mountArgs, ...(command.length ? ["--", ...command] : []),
    ];
    return { argv: session.asRoot ? plugin : asHostUser(plugin), env: pluginEnv(), name: null, via };
  }
  const name = containerName(mode);
  const owner = mode === "setup" ? ["-e", `CLAUDEAUTH_OWNER=${HOST_USER.uid}:${HOST_USER.gid}`] : [];
  return {
    argv: [
      "docker", "run", "--rm", "--name", name, "--network", network, ...(session.tty ? ["-it"] : []),
      ...owner, ...envArgs, "-v", `${session.store}:${STORE_IN_CONTAINER}`, ...mountArgs,
      mode === "setup" ? SETUP_IMAGE : RUN_IMAGE, ...command,
    ],
    env: {},
    name,
    via,
  };
}

export type Started = {
  invocation: Invocation;
  output(): string;
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** The container's id (found by name, or by the store it mounts when the plugin named it). */
  container(): Promise<string>;
  done: Promise<Run>;
};

export function startSession(mode: "setup" | "run", session: Session, via: Via): Started {
  const invocation = sessionInvocation(mode, session, via);
  const started = performance.now();
  const child = execa(invocation.argv[0]!, invocation.argv.slice(1), { reject: false, stdin: "ignore", env: invocation.env });
  let output = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  const done = child.then((result) => {
    const run = { exitCode: result.exitCode ?? -1, stdout: String(result.stdout ?? ""), stderr: String(result.stderr ?? ""), ms: performance.now() - started };
    scanOutput(`${via} ${mode}`, run.stdout, run.stderr);
    return run;
  });
  return {
    invocation,
    output: () => output,
    done,
    async waitForOutput(pattern, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(output)) {
        if (Date.now() > deadline || child.exitCode !== null) {
          throw new Error(`no ${pattern} in the output of ${invocation.via} ${invocation.argv.slice(0, 5).join(" ")} within ${timeoutMs} ms:\n${redactForReport(output)}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return output;
    },
    async container() {
      const filter = invocation.name ? `name=^${invocation.name}$` : `volume=${session.store}`;
      for (let i = 0; i < 100; i++) {
        const ids = (await docker(["ps", "-q", "--filter", filter])).stdout.split("\n").filter(Boolean);
        if (ids.length === 1) return ids[0]!;
        if (ids.length > 1) throw new Error(`more than one container matches ${filter}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`no running container matches ${filter}`);
    },
  };
}

export async function runSession(mode: "setup" | "run", session: Session, via: Via): Promise<Run> {
  return startSession(mode, session, via).done;
}

/**
 * A store in `scratch` logged in the way a user does it: `docker claudeauth setup` in the
 * real setup image, with a scripted login (`label` names its tokens and account).
 */
export async function loggedInStore(scratch: string, label: string): Promise<string> {
  const store = path.join(scratch, "store");
  const login = writeLoginScript(scratch, "login.sh", { credentials: oauthCredentials(label), claudeJson: claudeJson(`${label}@example.com`) });
  const setup = await runSession("setup", { store, mounts: [`${login}:/e2e/login.sh:ro`], command: ["/e2e/login.sh"] }, "plugin");
  if (setup.exitCode !== 0) throw new Error(`setup failed: ${setup.stderr}`);
  return store;
}

function redactForReport(text: string): string {
  return text.replace(/sk-ant-[a-z]{2,5}\d{0,3}-[A-Za-z0-9_-]{8,}/g, "sk-ant-[REDACTED]");
}

/** Every entry under a store: path, kind, mode, owner and a sha256 of each file's bytes. */
export function hashTree(root: string): string[] {
  const lines: string[] = [];
  const walk = (dir: string) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const file = path.join(dir, name);
      const stat = fs.lstatSync(file);
      const kind = stat.isDirectory() ? "dir" : stat.isFile() ? "file" : stat.isSymbolicLink() ? "symlink" : "other";
      const digest = stat.isFile() ? crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex") : "-";
      lines.push(`${path.relative(root, file)} ${kind} ${(stat.mode & 0o7777).toString(8)} ${stat.uid}:${stat.gid} ${digest}`);
      if (stat.isDirectory()) walk(file);
    }
  };
  walk(root);
  return lines;
}
