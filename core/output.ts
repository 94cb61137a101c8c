import { redact } from "./redact";

// All user-facing output of both binaries goes through here, so nothing escapes redaction
// and nothing a container chose reaches the terminal as a control sequence.
export type Level = "info" | "warn" | "error";

let prefix = "";
let quiet = false;

export function configureOutput(options: { prefix?: string; quiet?: boolean }): void {
  if (options.prefix !== undefined) prefix = options.prefix;
  if (options.quiet !== undefined) quiet = options.quiet;
}

// C0 and C1 controls, DEL, and the Unicode controls that reorder or break the displayed text
// (bidi overrides and isolates, line and paragraph separators). Tab and newline are layout.
const UNPRINTABLE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

/**
 * Text made safe for a terminal: file names, messages and anything else a container or a
 * store may have chosen. Printable Unicode stays readable; controls become visible escapes
 * (`\x1b`, `\u202e`), which are also valid inside a JSON string where JSON.stringify left
 * the character raw (DEL, C1, bidi controls).
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x20 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

function line(level: Level, message: string): string {
  const tag = level === "info" ? "" : `${level}: `;
  const oneLine = message.replace(/\s*\n\s*/g, " ").trim();
  return printable(redact(`${prefix}${tag}${oneLine}`)) + "\n";
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
  /** Several lines for a developer (a stack trace with CLAUDEAUTH_DEBUG), redacted and escaped too. */
  debug(text: string): void {
    process.stderr.write(lines(text));
  },
};

/** Program output (stdout): may span lines, still redacted and escaped. */
export function print(text: string): void {
  process.stdout.write(lines(text));
}

function lines(text: string): string {
  return printable(redact(text.endsWith("\n") ? text : text + "\n"));
}
