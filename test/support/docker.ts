import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { onTestFinished } from "vitest";
import { expectNoTokens } from "./tokens";
import { ensureImages as ensureSharedImages, type Images } from "./images";

// Helpers for the plugin's tests against the real engine: the images (built once per run,
// shared with the image tests and their lock), the plugin run directly or through the real
// docker CLI with a DOCKER_CONFIG and a HOME of the test's own, and clean-up of what a test
// made (containers, volumes, directories).

export const ROOT = path.resolve(__dirname, "../..");
export const PLUGIN = path.join(ROOT, "dist/docker-claudeauth");
export const VERSION: string = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).version;
export const RUN_IMAGE = `claudeauth/run:${VERSION}`;
export const SETUP_IMAGE = `claudeauth/setup:${VERSION}`;
export const HOST_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";

/**
 * Both images, current with dist/. When they are missing (or carry another entrypoint) they
 * are built once per test run with `dist/docker-claudeauth build --ca-cert <host bundle>`,
 * under a lock shared by every test file. Never skips: a failed build fails the caller.
 */
export function ensureImages(): Promise<Images> {
  return ensureSharedImages();
}

export type PluginRun = { exitCode: number; stdout: string; stderr: string; output: string; ms: number };

/**
 * A sandbox per test file: a HOME (so ~/.claude-hub and ~/.docker are private) and a
 * DOCKER_CONFIG with the plugin. With `user`, the plugin runs as that (non-root) user, in
 * the group of the engine's socket, and the HOME is its own: as a person runs it.
 */
export type Sandbox = {
  dir: string;
  home: string;
  hub: string;
  dockerConfig: string;
  env: Record<string, string>;
  user: { uid: number; gid: number } | null;
  cleanup(): Promise<void>;
};

/** The host user of the tests that run the plugin unprivileged: neither root nor the usual 1000. */
export const HOST_USER = { uid: 31337, gid: 31337 };

const volumes = new Set<string>();

export function makeSandbox(name: string, options: { user?: { uid: number; gid: number } } = {}): Sandbox {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `claudeauth-plugin-${name}-`));
  fs.chmodSync(dir, 0o755);
  const home = path.join(dir, "home");
  const dockerConfig = path.join(dir, "docker-config");
  fs.mkdirSync(home, { mode: 0o755 });
  fs.mkdirSync(path.join(dockerConfig, "cli-plugins"), { recursive: true, mode: 0o755 });
  fs.copyFileSync(PLUGIN, path.join(dockerConfig, "cli-plugins", "docker-claudeauth"));
  fs.chmodSync(path.join(dockerConfig, "cli-plugins", "docker-claudeauth"), 0o755);
  fs.writeFileSync(path.join(dockerConfig, "config.json"), "{}\n");
  const user = options.user && process.getuid?.() === 0 ? options.user : null;
  if (user) for (const dir of [home, dockerConfig]) fs.chownSync(dir, user.uid, user.gid);
  const hub = path.join(home, ".claude-hub");
  const env: Record<string, string> = {
    HOME: home,
    DOCKER_CONFIG: dockerConfig,
    PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    TZ: "UTC",
    LANG: "C.UTF-8",
    // The engine the tests were pointed at (a private one next to the default).
    ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
  };
  return {
    dir,
    home,
    hub,
    dockerConfig,
    env,
    user,
    async cleanup() {
      const mine = await execa("docker", ["ps", "-aq", "--filter", `label=io.claudeauth.test=${path.basename(dir)}`], { reject: false });
      const ids = String(mine.stdout ?? "").split("\n").filter(Boolean);
      if (ids.length) await execa("docker", ["rm", "-f", ...ids], { reject: false });
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

type RunOptions = { env?: Record<string, string>; input?: string; cwd?: string; timeoutMs?: number; allowTokens?: boolean };

/** argv that runs as the sandbox's user, with the engine socket's group, like a member of the docker group. */
export function asSandboxUser(sandbox: Sandbox, argv: string[]): string[] {
  if (!sandbox.user) return argv;
  const socketGroup = fs.statSync("/var/run/docker.sock").gid;
  return ["setpriv", "--reuid", String(sandbox.user.uid), "--regid", String(sandbox.user.gid), "--groups", String(socketGroup), "--", ...argv];
}

async function runProcess(file: string, args: string[], sandbox: Sandbox, options: RunOptions): Promise<PluginRun> {
  const started = performance.now();
  const [command, ...rest] = asSandboxUser(sandbox, [file, ...args]);
  const result = await execa(command!, rest, {
    reject: false,
    env: { ...sandbox.env, ...options.env },
    extendEnv: false,
    cwd: options.cwd ?? sandbox.dir,
    timeout: options.timeoutMs ?? 110_000,
    all: true,
    ...(options.input !== undefined ? { input: options.input } : { stdin: "ignore" }),
  });
  const run = {
    exitCode: result.exitCode ?? -1,
    stdout: String(result.stdout ?? ""),
    stderr: String(result.stderr ?? ""),
    output: String(result.all ?? ""),
    ms: performance.now() - started,
  };
  // Every output of the plugin is scanned: nothing token-shaped, no registered secret.
  if (!options.allowTokens) expectNoTokens(run);
  return run;
}

/** Starts `argv` (e.g. docker claudeauth run ...) as the sandbox's user, for tests that signal it or look at it while it runs. */
export function spawnAs(sandbox: Sandbox, argv: string[]) {
  const [command, ...rest] = asSandboxUser(sandbox, argv);
  return execa(command!, rest, { reject: false, env: sandbox.env, extendEnv: false, stdin: "ignore", cwd: sandbox.dir, all: true });
}

/** dist/docker-claudeauth ARGS, run directly (no docker CLI in front). */
export function plugin(sandbox: Sandbox, args: string[], options: RunOptions = {}): Promise<PluginRun> {
  return runProcess(PLUGIN, args, sandbox, options);
}

/** docker [global flags] claudeauth ARGS, through the real docker CLI. */
export function dockerPlugin(sandbox: Sandbox, args: string[], options: RunOptions = {}): Promise<PluginRun> {
  return runProcess("docker", args, sandbox, options);
}

/** Plain docker, for setting up and inspecting; never throws. */
export async function docker(args: string[], options: { input?: string } = {}): Promise<PluginRun> {
  const result = await execa("docker", args, { reject: false, all: true, ...(options.input !== undefined ? { input: options.input } : { stdin: "ignore" }) });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout ?? ""), stderr: String(result.stderr ?? ""), output: String(result.all ?? ""), ms: 0 };
}

/** A volume name of this test process, removed when the test finishes. */
export function testVolume(label: string): string {
  const name = `claudeauth-test-${label}-${crypto.randomBytes(3).toString("hex")}`;
  volumes.add(name);
  onTestFinished(async () => {
    await docker(["volume", "rm", "-f", name]);
    volumes.delete(name);
  });
  return name;
}

/** Label flags that let a sandbox's cleanup find containers a test created with plain docker. */
export function sandboxLabel(sandbox: Sandbox): string[] {
  return ["--label", `io.claudeauth.test=${path.basename(sandbox.dir)}`];
}

/** A read-only dir for scripts that containers run (0755 so the runtime user can read it). */
export function scriptsDir(sandbox: Sandbox): string {
  const dir = path.join(sandbox.dir, "scripts");
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  return dir;
}

export function writeScript(dir: string, name: string, body: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, body.startsWith("#!") ? body : `#!/bin/sh\n${body}`, { mode: 0o755 });
  fs.chmodSync(file, 0o755);
  return file;
}

/** Containers still around for a container name prefix or label (should be none after a run). */
export async function containersNamed(prefix: string): Promise<string[]> {
  const result = await docker(["ps", "-a", "--format", "{{.Names}}", "--filter", `name=${prefix}`]);
  return result.stdout.split("\n").filter(Boolean);
}
