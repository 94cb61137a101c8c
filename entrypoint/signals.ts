import fs from "node:fs";
import os from "node:os";

// Signal duties of a process that sits between PID 1 and the workload.

export const FORWARDED_SIGNALS = ["SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT"] as const;
export type ForwardedSignal = (typeof FORWARDED_SIGNALS)[number];

/** 128 + signal number, as shells report a process killed by a signal. */
export function exitCodeForSignal(signal: NodeJS.Signals): number {
  return 128 + (os.constants.signals[signal] ?? 0);
}

/**
 * Whether we must pass a signal on to the workload ourselves. Under `tini -g` PID 1 already
 * signals our whole process group, and a terminal sends Ctrl-C / Ctrl-\ to the foreground
 * group: forwarding again would deliver it twice (and two Ctrl-C quit the Claude CLI).
 */
export function mustForward(signal: NodeJS.Signals, pid1Cmdline = readPid1Cmdline()): boolean {
  if (isTiniGroupMode(pid1Cmdline)) return false;
  if ((signal === "SIGINT" || signal === "SIGQUIT") && process.stdin.isTTY) return false;
  return true;
}

export function isTiniGroupMode(cmdline: string[]): boolean {
  if (!cmdline[0] || !/(^|\/)tini(-static)?$/.test(cmdline[0])) return false;
  const flags = cmdline.slice(1, Math.max(cmdline.indexOf("--"), 1));
  return flags.some((flag) => /^-[a-zA-Z]*g/.test(flag)) || process.env.TINI_KILL_PROCESS_GROUP === "1";
}

function readPid1Cmdline(): string[] {
  if (process.pid === 1) return [];
  try {
    return fs.readFileSync("/proc/1/cmdline", "utf8").split("\0").filter(Boolean);
  } catch {
    return [];
  }
}
