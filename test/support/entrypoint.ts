import { spawn, type ChildProcess } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { inject } from "vitest";
import { TEST_HOME } from "./test-user";
import { scanOutput } from "./token-scan";

// Runs the COMPILED entrypoint as a process, the way tini runs it in an image: no Docker.
// A test that gives `home` gets a mount namespace of its own in which that directory is
// bind-mounted over the test user's home, so the entrypoint finds ~/.claude where
// /etc/passwd says it is and parallel tests never share a home. The wrapper execs, so the
// pid a test signals is the entrypoint's own (after a few ms of start-up).

export const ROOT = path.resolve(__dirname, "../..");

/** The binaries under test: the run's snapshot of dist/ (global-setup.ts), else dist/ itself. */
export function binary(name: "claudeauth-entrypoint" | "docker-claudeauth"): string {
  let dir = path.join(ROOT, "dist");
  try {
    dir = inject("claudeauthBin") ?? dir;
  } catch {
    // Not under vitest (a bench): use dist/.
  }
  return path.join(dir, name);
}
export const BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export type StartOptions = {
  /** Directory to appear at the test user's home (a private mount namespace). */
  home?: string;
  /** Paths to make read-only inside that namespace (bind-remounted ro). */
  readOnly?: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** Another binary than the entrypoint (e.g. the plugin). */
  binary?: string;
  /**
   * A Kubernetes pod as a kubelet would make it, for the k8s:// store tests (test/support/kubernetes.ts):
   * this directory mounted at /var/run/secrets/kubernetes.io/serviceaccount and a host name of its own.
   */
  pod?: { serviceAccountDir: string; hostname: string };
  /** The output may hold tokens on purpose (say why); it is not scanned. Default: scanned. */
  allowTokens?: string;
};

export type Result = {
  /** Shell-style exit status: the code, or 128+N when killed by signal N. */
  status: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
};

export type Handle = {
  child: ChildProcess;
  pid: number;
  startedAt: number;
  result: Promise<Result>;
  stdout(): string;
  stderr(): string;
  kill(signal: NodeJS.Signals): boolean;
  /** Resolves when stderr+stdout so far match `pattern`. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
};

const NAMESPACE_SCRIPT = `set -e
home=$1; shift
if [ -n "$home" ]; then mount --bind "$home" ${TEST_HOME}; fi
while [ "$1" != "--" ]; do mount --bind "$1" "$1"; mount -o remount,bind,ro "$1"; shift; done
shift
exec "$@"`;

export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";
const POD_SCRIPT = `set -e
mkdir -p ${SERVICE_ACCOUNT_DIR}
mount --bind "$1" ${SERVICE_ACCOUNT_DIR}
hostname "$2"
shift 2
exec "$@"`;

export function startEntrypoint(args: string[], options: StartOptions = {}): Handle {
  const file0 = options.binary ?? binary("claudeauth-entrypoint");
  const env = { PATH: BASE_PATH, LANG: "C.UTF-8", ...options.env };
  const wrapped = options.home !== undefined || (options.readOnly?.length ?? 0) > 0;
  const [file, argv] = options.pod
    ? ["unshare", ["-m", "-u", "--propagation", "private", "--", "/bin/sh", "-c", POD_SCRIPT, "sh", options.pod.serviceAccountDir, options.pod.hostname, file0, ...args]]
    : wrapped
      ? ["unshare", ["-m", "--propagation", "private", "--", "/bin/sh", "-c", NAMESPACE_SCRIPT, "sh", options.home ?? "", ...(options.readOnly ?? []), "--", file0, ...args]]
      : [file0, args];
  const startedAt = performance.now();
  const child = spawn(file, argv as string[], { env, cwd: options.cwd ?? os.tmpdir(), stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  const waiters = new Set<() => void>();
  const notify = () => waiters.forEach((w) => w());
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => ((stdout += chunk), notify()));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => ((stderr += chunk), notify()));

  const result = new Promise<Result>((resolve, reject) => {
    let exited: { code: number | null; signal: NodeJS.Signals | null; ms: number } | null = null;
    let settled = false;
    const finish = () => {
      if (settled || !exited) return;
      settled = true;
      const { code, signal, ms } = exited;
      const status = signal ? 128 + (os.constants.signals[signal] ?? 0) : (code ?? -1);
      if (!options.allowTokens) scanOutput(`${path.basename(file0)} ${args[0] ?? ""}`, stdout, stderr);
      resolve({ status, code, signal, stdout, stderr, ms });
    };
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      exited = { code, signal, ms: performance.now() - startedAt };
      // An orphaned grandchild may hold the pipes open: do not wait for it for long.
      setTimeout(finish, 1_000).unref();
    });
    child.on("close", finish);
  });

  return {
    child,
    pid: child.pid!,
    startedAt,
    result,
    stdout: () => stdout,
    stderr: () => stderr,
    kill: (signal) => {
      try {
        process.kill(child.pid!, signal);
        return true;
      } catch {
        return false;
      }
    },
    waitForOutput(pattern, timeoutMs = 10_000) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (pattern.test(stderr + stdout)) {
            cleanup();
            resolve();
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${pattern} in output:\n${stderr}${stdout}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        void result.then(() => setTimeout(check, 0));
        check();
      });
    },
  };
}

/** Starts the entrypoint and waits for it; kills it (KILL) after `timeoutMs`. */
export async function runEntrypoint(args: string[], options: StartOptions & { timeoutMs?: number } = {}): Promise<Result> {
  const handle = startEntrypoint(args, options);
  const timer = setTimeout(() => handle.kill("SIGKILL"), options.timeoutMs ?? 30_000);
  try {
    return await handle.result;
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `check` until it returns a value other than undefined/false/null; an exception from `check` ends the wait with it. */
export async function waitFor<T>(check: () => T | undefined | false | null, timeoutMs = 10_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false && value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
