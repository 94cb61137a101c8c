import { redact } from "./redact";

// All user-facing output of both binaries goes through here, so nothing escapes redaction.
export type Level = "info" | "warn" | "error";

let prefix = "";
let quiet = false;

export function configureOutput(options: { prefix?: string; quiet?: boolean }): void {
  if (options.prefix !== undefined) prefix = options.prefix;
  if (options.quiet !== undefined) quiet = options.quiet;
}

function line(level: Level, message: string): string {
  const tag = level === "info" ? "" : `${level}: `;
  const oneLine = message.replace(/\s*\n\s*/g, " ").trim();
  return redact(`${prefix}${tag}${oneLine}`) + "\n";
}

export const log = {
  info(message: string): void {
    if (!quiet) process.stderr.write(line("info", message));
  },
  warn(message: string): void {
    process.stderr.write(line("warn", message));
  },
  error(message: string): void {
    process.stderr.write(line("error", message));
  },
};

/** Program output (stdout): may span lines, still redacted. */
export function print(text: string): void {
  process.stdout.write(redact(text.endsWith("\n") ? text : text + "\n"));
}
