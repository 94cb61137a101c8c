import type { ChildProcess } from "node:child_process";
import { UserError } from "../core/errors";
import { log } from "../core/output";
import { resolveCommand } from "./exec";
import { commandAsUser } from "./privileges";
import { FORWARDED_SIGNALS, exitCodeForSignal, mustForward, type ForwardedSignal } from "./signals";
import type { RuntimeUser } from "./user";

// Runs the workload as a child, in our process group, with the terminal passed through.
// util-linux `setpriv` drops privileges and execs the workload in the child: spawn({uid})
// would drop the user's supplementary groups, and a second start of this 100 MB binary
// would cost ~100 ms per container.

export type ChildOutcome = { code: number; signal: NodeJS.Signals | null };

export type Workload = {
  /** null when the command could not be started (the reason is already reported). */
  child: ChildProcess | null;
  done: Promise<ChildOutcome>;
};

export function startWorkload(command: string[], user: RuntimeUser, env: NodeJS.ProcessEnv): Workload {
  // Found (or not) before the drop, so "not found" and "not executable" read as they do in
  // exec mode; setpriv then looks the command up again, in the same PATH, as the user.
  let argv: string[];
  try {
    resolveCommand(command[0]!, env);
    argv = commandAsUser(user, command);
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    log.error(error.message);
    return { child: null, done: Promise.resolve({ code: error.exitCode, signal: null }) };
  }
  const [file, ...args] = argv;
  const child = childProcess().spawn(file!, args, { stdio: "inherit", env });
  const done = new Promise<ChildOutcome>((resolve) => {
    child.on("error", () => resolve({ code: 127, signal: null }));
    child.on("exit", (code, signal) => resolve({ code: signal ? exitCodeForSignal(signal) : (code ?? 1), signal }));
  });
  return { child, done };
}

/**
 * node:child_process, loaded on first use: exec mode never starts a child, and loading it
 * costs every start a millisecond or two.
 */
export function childProcess(): typeof import("node:child_process") {
  return process.getBuiltinModule("node:child_process");
}

/** Calls `onSignal` for each forwarded signal, after passing it on to the child if needed. */
export function relaySignals(child: ChildProcess | null, onSignal: (signal: ForwardedSignal) => void): () => void {
  const handlers = FORWARDED_SIGNALS.map((signal) => {
    const handler = () => {
      if (child && mustForward(signal) && child.exitCode === null && child.signalCode === null) child.kill(signal);
      onSignal(signal);
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  return () => handlers.forEach(([signal, handler]) => process.off(signal, handler));
}
