import os from "node:os";
import type { execa as Execa } from "execa";
import { UserError } from "../../core/errors";
import { redact } from "../../core/redact";
import { track } from "../docker-cli/signals";

// The one module that runs Docker. Every call goes to the docker CLI that started us
// ($DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND, else `docker` on PATH) with Docker's global
// flags from our argv (--context, -H, --config, -D, -l, --tls*), so the plugin talks to the
// same engine, with the same configuration, as the command the user typed.

// execa (and its dependencies) load on the first docker call: status of a host dir and
// the other commands that never call docker start without them.
let execaLoaded: Promise<typeof Execa> | undefined;
function loadExeca(): Promise<typeof Execa> {
  return (execaLoaded ??= import("execa").then((module) => module.execa));
}

export type CaptureResult = { code: number; stdout: string; stderr: string };

export type StdinMode = "inherit" | "ignore" | "pipe";

export type StreamOptions = {
  stdin?: StdinMode;
  input?: string;
  /** Called with every chunk of stdout instead of passing it through. */
  onStdout?: (chunk: Buffer) => void;
  /** Called with every chunk of stderr instead of passing it through. */
  onStderr?: (chunk: Buffer) => void;
  /** The container this `docker run` starts: stopped through the engine on Ctrl-C / TERM. */
  container?: string;
  timeoutMs?: number;
};

export type StreamResult = { code: number; timedOut: boolean };

export class Docker {
  readonly binary: string;

  constructor(
    readonly globalArgs: string[] = [],
    binary?: string,
  ) {
    this.binary = binary || process.env.DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND || "docker";
  }

  /** The engine in words, for messages: "host unix:///x.sock", "context prod", ... */
  describeEngine(): string {
    const value = (names: string[]): string | undefined => {
      let found: string | undefined;
      for (let i = 0; i < this.globalArgs.length; i++) {
        const arg = this.globalArgs[i]!;
        for (const name of names) {
          if (arg === name) found = this.globalArgs[i + 1];
          else if (arg.startsWith(`${name}=`)) found = arg.slice(name.length + 1);
          else if (name.length === 2 && arg.startsWith(name) && arg.length > 2) found = arg.slice(2);
        }
      }
      return found;
    };
    const host = value(["--host", "-H"]);
    if (host) return `host ${host}`;
    const context = value(["--context", "-c"]);
    if (context) return `context ${context}`;
    if (process.env.DOCKER_HOST) return `host ${process.env.DOCKER_HOST} (DOCKER_HOST)`;
    if (process.env.DOCKER_CONTEXT) return `context ${process.env.DOCKER_CONTEXT} (DOCKER_CONTEXT)`;
    return "the current context";
  }

  /** The engine's address (unix:///..., tcp://..., ssh://...): -H, DOCKER_HOST, else the context's; null if unknown. */
  async endpoint(): Promise<string | null> {
    const host = /^host (\S+)/.exec(this.describeEngine())?.[1];
    if (host) return host;
    const result = await this.capture(["context", "inspect", "--format", "{{.Endpoints.docker.Host}}"]);
    return result.code === 0 && result.stdout.trim() ? result.stdout.trim() : null;
  }

  private env(): NodeJS.ProcessEnv {
    const env = { ...process.env };
    delete env.DOCKER_CLI_PLUGIN_SOCKET;
    return env;
  }

  /** Runs docker and collects its output; never throws for a non-zero exit. */
  async capture(args: string[], options: { input?: string; timeoutMs?: number; cleanup?: boolean } = {}): Promise<CaptureResult> {
    const execa = await loadExeca();
    const child = execa(this.binary, [...this.globalArgs, ...args], {
      reject: false,
      env: this.env(),
      extendEnv: false,
      ...(options.input !== undefined ? { input: options.input } : { stdin: "ignore" as const }),
      ...(options.timeoutMs ? { timeout: options.timeoutMs } : {}),
    });
    // Clean-up calls made while stopping (docker kill, docker rm) must not be stopped themselves.
    const result = options.cleanup ? await child : await track({ stop: async (signal) => void child.kill(signal) }, child);
    if (result.code === "ENOENT" || (result.failed && result.exitCode === undefined && !result.isTerminated)) {
      throw new UserError(`cannot run ${this.binary}: ${result.code ?? result.shortMessage}; is the docker CLI installed and on PATH?`);
    }
    return { code: result.exitCode ?? 1, stdout: String(result.stdout ?? ""), stderr: String(result.stderr ?? "") };
  }

  /** As capture(), with stdout as bytes (a tar stream). */
  async captureBuffer(args: string[], options: { timeoutMs?: number } = {}): Promise<{ code: number; stdout: Buffer; stderr: string }> {
    const execa = await loadExeca();
    const child = execa(this.binary, [...this.globalArgs, ...args], {
      reject: false,
      env: this.env(),
      extendEnv: false,
      stdin: "ignore",
      encoding: "buffer",
      ...(options.timeoutMs ? { timeout: options.timeoutMs } : {}),
    });
    const result = await track({ stop: async (signal) => void child.kill(signal) }, child);
    if (result.code === "ENOENT") throw new UserError(`cannot run ${this.binary}: not found; is the docker CLI installed and on PATH?`);
    return { code: result.exitCode ?? 1, stdout: Buffer.from(result.stdout ?? []), stderr: Buffer.from(result.stderr ?? []).toString("utf8") };
  }

  /** Runs docker and returns its stdout; a failure becomes a one-line UserError naming the engine. */
  async output(args: string[], what: string, options: { input?: string; timeoutMs?: number } = {}): Promise<string> {
    const result = await this.capture(args, options);
    if (result.code !== 0) throw this.failure(what, result);
    return result.stdout;
  }

  failure(what: string, result: CaptureResult): UserError {
    const message = firstLine(result.stderr) || firstLine(result.stdout) || `exit code ${result.code}`;
    if (isEngineUnreachable(result.stderr)) {
      return new UserError(`cannot reach the Docker engine (${this.describeEngine()}): ${message}`);
    }
    return new UserError(`${what} failed: ${message}`);
  }

  /** Whether the engine answers; the message says why not. */
  async ping(): Promise<{ ok: true; server: string; client: string } | { ok: false; message: string }> {
    const result = await this.capture(["version", "--format", "{{json .}}"], { timeoutMs: 20_000 });
    let parsed: { Client?: { Version?: string }; Server?: { Version?: string } | null } = {};
    try {
      parsed = JSON.parse(result.stdout.trim().split("\n").pop() || "{}");
    } catch {
      // docker prints the template error to stdout on some versions
    }
    if (result.code === 0 && parsed.Server?.Version) {
      return { ok: true, server: parsed.Server.Version, client: parsed.Client?.Version ?? "unknown" };
    }
    return { ok: false, message: firstLine(result.stderr) || `docker version exited ${result.code}` };
  }

  /**
   * Runs docker with the terminal (or the given callbacks) attached: for `docker run`,
   * `docker build`. Returns docker's exit code, 128+N if it was killed by signal N.
   */
  async stream(args: string[], options: StreamOptions = {}): Promise<StreamResult> {
    const execa = await loadExeca();
    const child = execa(this.binary, [...this.globalArgs, ...args], {
      reject: false,
      env: this.env(),
      extendEnv: false,
      stdin: options.input !== undefined ? "pipe" : (options.stdin ?? "inherit"),
      stdout: options.onStdout ? "pipe" : "inherit",
      stderr: options.onStderr ? "pipe" : "inherit",
      encoding: "buffer",
      buffer: false,
      // The container keeps running if its docker run dies: it is stopped through the engine below.
      cleanup: !options.container,
      ...(options.input !== undefined ? { input: options.input } : {}),
    });
    if (options.onStdout) child.stdout?.on("data", options.onStdout);
    if (options.onStderr) child.stderr?.on("data", options.onStderr);

    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    const stopContainer = async (signal: NodeJS.Signals) => {
      if (!options.container) {
        child.kill(signal);
        return;
      }
      // The engine delivers it to the container (tini -g passes it to the whole group);
      // `docker run` then exits with the container.
      await this.capture(["kill", "--signal", signal, options.container], { timeoutMs: 10_000, cleanup: true });
      const settled = await Promise.race([child.then(() => true), delay(20_000).then(() => false)]);
      if (!settled) {
        await this.capture(["rm", "--force", options.container], { timeoutMs: 10_000, cleanup: true });
        child.kill("SIGKILL");
      }
    };
    if (options.timeoutMs) {
      timer = setTimeout(() => {
        timedOut = true;
        void (options.container ? this.capture(["rm", "--force", options.container], { timeoutMs: 10_000, cleanup: true }) : Promise.resolve()).then(() =>
          child.kill("SIGKILL"),
        );
      }, options.timeoutMs);
    }
    const result = await track({ stop: stopContainer }, child);
    if (timer) clearTimeout(timer);
    if (result.code === "ENOENT") throw new UserError(`cannot run ${this.binary}: not found; is the docker CLI installed and on PATH?`);
    if (result.exitCode !== undefined) return { code: result.exitCode, timedOut };
    const signal = result.signal as NodeJS.Signals | undefined;
    return { code: signal ? 128 + (signalNumber(signal) ?? 15) : 1, timedOut };
  }
}

export function isEngineUnreachable(stderr: string): boolean {
  return /Cannot connect to the Docker daemon|error during connect|context .* not found|connect: no such file or directory|dial unix|Is the docker daemon running|permission denied while trying to connect/i.test(
    stderr,
  );
}

export function firstLine(text: string): string {
  const line = text
    .split("\n")
    .map((l) => l.trim())
    .find((l) => l !== "" && !/^(WARNING|DEPRECATED)\b/.test(l));
  return redact(line ?? "");
}

function signalNumber(signal: NodeJS.Signals): number | undefined {
  return os.constants.signals[signal];
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** A container name unique enough for concurrent runs: claudeauth-run-default-3f9a1c. */
export function containerName(command: string, profile: string): string {
  return `claudeauth-${command}-${profile}-${Math.random().toString(16).slice(2, 8)}`;
}

// ---------------------------------------------------------------------------------------
// Hardening: every container the plugin starts runs a workload we do not trust (the login
// CLI, Claude Code with a shell, a user's command) next to a root entrypoint that holds the
// store. Unless the user opts out, the container keeps only the capabilities the
// entrypoint needs, no program can gain privileges (setuid bits are ignored), the process
// count is bounded and the image is read-only: the workload writes only to sized tmpfs
// mounts, the workspace and its own mounts.

export type Hardening = { enabled: boolean; capAdd: string[] };

export const DEFAULT_HARDENING: Hardening = { enabled: true, capAdd: [] };

/**
 * What the entrypoint does as root: CHOWN the working copy and captures to their owners,
 * DAC_OVERRIDE and FOWNER to read, write and chmod a store the host user owns, SETGID and
 * SETUID to drop to the workload's ids, KILL to signal and end the workload's processes.
 */
export const ENTRYPOINT_CAPABILITIES = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID", "KILL"] as const;

/** Enough for Claude Code, its shells and a parallel build; a fork bomb stops here. */
export const PIDS_LIMIT = 1024;

/**
 * The writable places of a read-only container: /tmp and the runtime user's home (a tmpfs
 * keeps the mode of the directory it covers; the entrypoint gives the home to the user).
 * The working copy has its own tmpfs (run.ts).
 */
export const WRITABLE_TMPFS = ["/tmp:rw,exec,nosuid,nodev,size=1g", "/home/claude:rw,exec,nosuid,nodev,size=512m"] as const;

export function hardeningFlags(hardening: Hardening): string[] {
  const added = hardening.capAdd.flatMap((cap) => ["--cap-add", cap]);
  if (!hardening.enabled) return added;
  return [
    "--cap-drop", "ALL",
    ...ENTRYPOINT_CAPABILITIES.flatMap((cap) => ["--cap-add", cap]),
    ...added,
    "--security-opt", "no-new-privileges",
    "--pids-limit", String(PIDS_LIMIT),
    "--read-only",
    ...WRITABLE_TMPFS.flatMap((mount) => ["--tmpfs", mount]),
  ];
}
