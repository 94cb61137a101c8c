import fs from "node:fs";
import path from "node:path";
import { CLAUDE_JSON_FILE, CREDENTIALS_FILE, LONG_LIVED_TOKEN_FILE, MAX_AUTH_FILE_BYTES, USER_CONFIG_ENTRIES } from "./layout";
import { parseClaudeJson, parseCredentials } from "./credentials";
import { registerSecret } from "./redact";
import { isSafeName, makePrivateDir, writeNewFile } from "./safe-fs";
import { UserError } from "./errors";
import { commit, ConflictError, copyCaptureInto, readCurrentIfValid, type Capture, type Store } from "./store";

// A login handed in whole (setup --from: a ~/.claude directory, a seed-style copy, a
// credentials file, the macOS keychain's JSON) and a logout, for every backend.

/** The files of a login: its credentials, its .claude.json and user config (relative paths under USER_CONFIG_ENTRIES). */
export type LoginFiles = { credentials: string; claudeJson: string | null; config: { path: string; data: Buffer }[] };

export const MAX_CONFIG_FILES = 1000;

/** Checks a login like a capture (one line on what is wrong); registers its tokens for redaction. */
export function validateLogin(files: LoginFiles, source: string): LoginFiles {
  const credentials = parseCredentials(files.credentials);
  if (!credentials.ok) throw new UserError(`${source}: ${credentials.problem}; nothing was stored`);
  registerSecret(credentials.value.claudeAiOauth.accessToken);
  registerSecret(credentials.value.claudeAiOauth.refreshToken);
  if (files.claudeJson !== null) {
    const claudeJson = parseClaudeJson(files.claudeJson);
    if (!claudeJson.ok) throw new UserError(`${source}: ${claudeJson.problem}; nothing was stored (move the file aside to import the credentials alone)`);
  }
  if (files.config.length > MAX_CONFIG_FILES) throw new UserError(`${source}: more than ${MAX_CONFIG_FILES} config files; nothing was stored`);
  for (const file of files.config) {
    const parts = file.path.split("/");
    if (!(USER_CONFIG_ENTRIES as readonly string[]).includes(parts[0]!) || !parts.every(isSafeName) || file.data.length > MAX_AUTH_FILE_BYTES) {
      throw new UserError(`${source}: unexpected config file "${file.path}"; nothing was stored`);
    }
  }
  return files;
}

/**
 * Commits a login as a new capture, by compare-and-swap against `expectedGeneration` (the
 * generation the caller saw; undefined: whatever is current). What the login does not bring
 * (.claude.json, user config) is carried over from the current capture.
 */
export async function importLogin(store: Store, files: LoginFiles, source: string, expectedGeneration?: number | null): Promise<Capture> {
  try {
    return await commitLogin(store, files, source, expectedGeneration);
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error;
    throw new UserError(`the store at ${store.location} changed while the login was imported (${error.message}): nothing was stored; run it again`);
  }
}

async function commitLogin(store: Store, files: LoginFiles, source: string, expectedGeneration?: number | null): Promise<Capture> {
  const current = await readCurrentIfValid(store);
  const brought = [CREDENTIALS_FILE, LONG_LIVED_TOKEN_FILE, ...(files.claudeJson !== null ? [CLAUDE_JSON_FILE] : []), ...(files.config.length ? USER_CONFIG_ENTRIES : [])];
  return commit(
    store,
    (draft) => {
      if (current) copyCaptureInto(current, draft, store.owner, brought);
      writeNewFile(path.join(draft, CREDENTIALS_FILE), files.credentials, store.owner);
      if (files.claudeJson !== null) writeNewFile(path.join(draft, CLAUDE_JSON_FILE), files.claudeJson, store.owner);
      for (const file of files.config) {
        let dir = draft;
        for (const part of path.dirname(file.path).split("/").filter((p) => p !== ".")) {
          dir = path.join(dir, part);
          if (!fs.existsSync(dir)) makePrivateDir(dir, store.owner);
        }
        writeNewFile(path.join(draft, file.path), file.data, store.owner);
      }
    },
    { source, mode: "oauth" },
    { expectedGeneration: expectedGeneration === undefined ? (current?.generation ?? null) : expectedGeneration },
  );
}

/**
 * Removes the login: a new capture without credentials keeps the settings (.claude.json,
 * user config), then every older capture and any rescue go, so no token stays in the store.
 * Returns null when there was no login to remove.
 */
export async function logout(store: Store): Promise<Capture | null> {
  if ((await store.generations()).length === 0) return null;
  return store.withLock(async (locked) => {
    const current = await readCurrentIfValid(locked);
    if (current?.meta.mode === "logged-out" && (await locked.readRescue()) === null) return null;
    const out = await locked.commit((draft) => {
      if (current) copyCaptureInto(current, draft, store.owner, [CREDENTIALS_FILE, LONG_LIVED_TOKEN_FILE]);
    }, { source: "logout", mode: "logged-out" });
    await locked.forgetBefore(out.generation);
    return out;
  });
}

/** What the plugin writes on the import mode's stdin (file contents in base64). */
type ImportRequest = {
  schema: 1;
  source: string;
  expectedGeneration: number | null;
  credentials: string;
  claudeJson: string | null;
  config: { path: string; data: string }[];
};

/** The login an import request carries (a UserError if it is not one). */
export function parseImportRequest(text: string): { files: LoginFiles; source: string; expectedGeneration: number | null } {
  let value: Partial<ImportRequest>;
  try {
    value = JSON.parse(text) as Partial<ImportRequest>;
  } catch {
    throw new UserError("import: stdin is not the JSON docker claudeauth setup --from sends", 125);
  }
  const ok =
    value?.schema === 1 && typeof value.source === "string" && typeof value.credentials === "string" &&
    (value.claudeJson === null || typeof value.claudeJson === "string") &&
    (value.expectedGeneration === null || Number.isInteger(value.expectedGeneration)) &&
    Array.isArray(value.config) && value.config.every((f) => typeof f?.path === "string" && typeof f?.data === "string");
  if (!ok) throw new UserError("import: stdin is not the JSON docker claudeauth setup --from sends", 125);
  const request = value as ImportRequest;
  const files = { credentials: request.credentials, claudeJson: request.claudeJson, config: request.config.map((file) => ({ path: file.path, data: Buffer.from(file.data, "base64") })) };
  return { files, source: request.source, expectedGeneration: request.expectedGeneration };
}

/** The request for a login, as the plugin sends it to the entrypoint's import mode. */
export function importRequest(files: LoginFiles, source: string, expectedGeneration: number | null): string {
  const request: ImportRequest = {
    schema: 1, source, expectedGeneration, credentials: files.credentials, claudeJson: files.claudeJson,
    config: files.config.map((file) => ({ path: file.path, data: file.data.toString("base64") })),
  };
  return JSON.stringify(request);
}
