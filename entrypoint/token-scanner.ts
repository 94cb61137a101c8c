// Finds the long-lived token that `claude setup-token` prints, in terminal output that may
// carry ANSI escapes and wrap the token over several lines; and hides it from the screen.

const TOKEN = /sk-ant-oat\d{2}-[A-Za-z0-9_-]{20,}/;
const TOKEN_CHARS = /^[A-Za-z0-9_-]+$/;
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

export function findToken(output: string, columns = 80): string | null {
  const lines = output.replace(ANSI, "").split(/\r?\n|\r/).map((line) => line.trimEnd());
  for (let i = 0; i < lines.length; i++) {
    const match = TOKEN.exec(lines[i]!.trim());
    if (!match) continue;
    let token = match[0];
    // A token longer than the terminal is wrapped: full-width lines continue on the next.
    for (let j = i; lines[j]!.length >= columns && j + 1 < lines.length && TOKEN_CHARS.test(lines[j + 1]!.trim()); j++) {
      token += lines[j + 1]!.trim();
    }
    return token;
  }
  return null;
}

/** The start of a token that a chunk may end in the middle of: held back until the next chunk. */
export function unsafeTail(text: string): number {
  const match = /s(k(-(a(n(t(-[a-z0-9]*(-[A-Za-z0-9_-]*)?)?)?)?)?)?)?$/.exec(text);
  return match ? match[0].length : 0;
}
