import path from "node:path";
import { CLAUDE_JSON_FILE, CREDENTIALS_FILE, LONG_LIVED_TOKEN_FILE } from "./layout";
import { UserError } from "./errors";
import { registerSecret } from "./redact";
import { lstatOrNull, writeNewFile } from "./safe-fs";
import { copyEntry } from "./safe-copy";
import { copyCaptureInto, readCurrentIfValid, type Capture, type Store } from "./store";

// Long-lived mode: the token `claude setup-token` prints, kept as the capture's
// `oauth-token` (0600). A new capture keeps the earlier one's .claude.json and user
// settings, so switching modes loses no onboarding state.

const MAX_TOKEN_LENGTH = 4096;
export const LONG_LIVED_TOKEN_SHAPE = /^sk-ant-oat\d+-/;

/** The token as given (trimmed), or a one-line error that says what to pipe instead. */
export function validateLongLivedToken(raw: string): string {
  const token = raw.trim();
  if (token === "") throw new UserError("no token on stdin: pipe the token that `claude setup-token` printed, e.g. docker claudeauth setup --token-stdin < token.txt");
  if (token.length > MAX_TOKEN_LENGTH || /[^\x21-\x7e]/.test(token)) {
    throw new UserError("stdin does not hold a single token: give only the token that `claude setup-token` printed");
  }
  registerSecret(token);
  return token;
}

export async function commitLongLivedToken(store: Store, token: string, source: string, claudeJson?: string): Promise<Capture> {
  await store.ensure();
  return store.withLock(async (locked) => {
    const current = await readCurrentIfValid(locked);
    return locked.commit(
      (draft) => {
        if (current) copyCaptureInto(current, draft, store.owner, [CREDENTIALS_FILE, LONG_LIVED_TOKEN_FILE, ...(claudeJson ? [CLAUDE_JSON_FILE] : [])]);
        if (claudeJson && lstatOrNull(claudeJson)) copyEntry(claudeJson, path.join(draft, CLAUDE_JSON_FILE), { owner: store.owner });
        writeNewFile(path.join(draft, LONG_LIVED_TOKEN_FILE), `${token}\n`, store.owner);
      },
      { source, mode: "long-lived" },
    );
  });
}
