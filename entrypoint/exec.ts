import fs from "node:fs";
import path from "node:path";
import { UserError } from "../core/errors";

// Finding and replacing ourselves with the workload: exec's own exit codes, 127 for
// "not found" and 126 for "not executable", as shells and tini report them.

export function resolveCommand(command: string, env: NodeJS.ProcessEnv): string {
  const candidates = command.includes("/") ? [command] : (env.PATH ?? "/usr/local/bin:/usr/bin:/bin").split(":").map((dir) => path.join(dir || ".", command));
  let found: string | undefined;
  for (const candidate of candidates) {
    const stat = statOrNull(candidate);
    if (!stat || stat.isDirectory()) continue;
    found ??= candidate;
    if (isExecutable(candidate)) return candidate;
  }
  if (found) throw new UserError(`${found} is not executable: chmod +x it or run another command`, 126);
  throw new UserError(`command not found: ${command} (not in PATH=${env.PATH ?? ""})`, 127);
}

export function execInto(command: string[], env: NodeJS.ProcessEnv): never {
  const file = resolveCommand(command[0]!, env);
  // Node ignores SIGPIPE and SIGXFSZ, and an ignored signal stays ignored across execve (a
  // workload's `yes | head` would see EPIPE instead of dying). A caught one is reset to the
  // default, so catch them just before the exec.
  for (const signal of ["SIGPIPE", "SIGXFSZ"] as const) process.on(signal, () => undefined);
  try {
    return process.execve!(file, command, env as Record<string, string>);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UserError(`cannot run ${file}: ${code ?? String(error)}`, code === "ENOENT" ? 127 : 126);
  }
}

function statOrNull(file: string): fs.Stats | null {
  try {
    return fs.statSync(file);
  } catch {
    return null;
  }
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
