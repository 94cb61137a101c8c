import fs from "node:fs";
import { StringDecoder } from "node:string_decoder";
import { redact } from "../../core/redact";

// What our stdin/stdout are, which decides -t / -i for `docker run`, and a relay that
// passes a container's output on with anything token-shaped blanked out.

export type Stdio = { stdinTty: boolean; stdoutTty: boolean; stdinOpen: boolean };

export function stdio(): Stdio {
  let stdinOpen = true;
  try {
    fs.fstatSync(0);
  } catch {
    stdinOpen = false;
  }
  return { stdinTty: Boolean(process.stdin.isTTY), stdoutTty: Boolean(process.stdout.isTTY), stdinOpen };
}

/** -it with a terminal, -i when stdin is a pipe or file, nothing when stdin is closed. */
export function interactiveFlags(io: Stdio, allowTty = true): string[] {
  if (io.stdinTty && io.stdoutTty && allowTty) return ["-i", "-t"];
  return io.stdinOpen ? ["-i"] : [];
}

// Anything that may be the start of a token at the end of a chunk is held back until the
// next chunk (or a short pause), so a token split across chunks is still caught.
const PARTIAL_TOKEN = /s(?:k(?:-(?:a(?:n(?:t(?:-[a-z0-9]*(?:-[A-Za-z0-9_-]*)?)?)?)?)?)?)?$/;
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;
const LONG_LIVED_TOKEN = /sk-ant-oat\d{2,3}-[A-Za-z0-9_-]{16,}/g;

/**
 * Relays output to `write`, redacted; remembers the plain text (escape sequences removed)
 * so the long-lived token `claude setup-token` prints can be picked up afterwards.
 */
export class TokenScanningRelay {
  private readonly decoder = new StringDecoder("utf8");
  private held = "";
  private timer: NodeJS.Timeout | undefined;
  private plain = "";

  constructor(private readonly write: (text: string) => void) {}

  push(chunk: Buffer): void {
    const text = this.held + this.decoder.write(chunk);
    const match = PARTIAL_TOKEN.exec(text);
    const cut = match ? match.index : text.length;
    this.held = text.slice(cut);
    this.emit(text.slice(0, cut));
    if (this.timer) clearTimeout(this.timer);
    if (this.held) this.timer = setTimeout(() => this.flush(), 50);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    const rest = this.held + this.decoder.end();
    this.held = "";
    this.emit(rest);
  }

  private emit(text: string): void {
    if (!text) return;
    this.remember(text);
    this.write(redact(text));
  }

  private remember(text: string): void {
    if (this.plain.length < 4 * 1024 * 1024) this.plain += text;
  }

  /** The last long-lived token in the output, or null. */
  token(): string | null {
    const plain = this.plain.replace(ANSI, "");
    const matches = plain.match(LONG_LIVED_TOKEN);
    return matches ? matches[matches.length - 1]! : null;
  }
}
