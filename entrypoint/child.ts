import { spawn, type ChildProcess } from "node:child_process";
import { FORWARDED_SIGNALS, exitCodeForSignal, mustForward, type ForwardedSignal } from "./signals";
import type { RuntimeUser } from "./user";

// Runs the workload as a child, in our process group, with the terminal passed through.
// Privileges are dropped by a fresh copy of this binary (`__exec`), because spawn({uid})
// would drop the user's supplementary groups.

export type ChildOutcome = { code: number; signal: NodeJS.Signals | null };

export type Workload = {
  child: ChildProcess;
  done: Promise<ChildOutcome>;
};

export function startWorkload(command: string[], user: RuntimeUser, env: NodeJS.ProcessEnv): Workload {
  const child = spawn(
    process.execPath,
    ["__exec", "--user", user.name, "--uid", String(user.uid), "--gid", String(user.gid), "--", ...command],
    { stdio: "inherit", env, argv0: "claudeauth-entrypoint" },
  );
  const done = new Promise<ChildOutcome>((resolve) => {
    child.on("error", () => resolve({ code: 127, signal: null }));
    child.on("exit", (code, signal) => resolve({ code: signal ? exitCodeForSignal(signal) : (code ?? 1), signal }));
  });
  return { child, done };
}

/** Calls `onSignal` for each forwarded signal, after passing it on to the child if needed. */
export function relaySignals(child: ChildProcess, onSignal: (signal: ForwardedSignal) => void): () => void {
  const handlers = FORWARDED_SIGNALS.map((signal) => {
    const handler = () => {
      if (mustForward(signal) && child.exitCode === null && child.signalCode === null) child.kill(signal);
      onSignal(signal);
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  return () => handlers.forEach(([signal, handler]) => process.off(signal, handler));
}
