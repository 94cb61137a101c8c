import fs from "node:fs";
import path from "node:path";
import { CLAUDE_JSON_FILE, CREDENTIALS_FILE, MAX_AUTH_FILE_BYTES, USER_CONFIG_ENTRIES } from "../../core/layout";
import { serializeJson, withoutRefreshToken, parseCredentials } from "../../core/credentials";
import { lstatOrNull, readRegularFile, replaceFileAtomically, UnsafeFileError } from "../../core/safe-fs";
import { MAX_CONFIG_FILES, validateLogin, type LoginFiles } from "../../core/store-login";
import { UserError, errorMessage } from "../../core/errors";
import { log } from "../../core/output";

// Where an existing login comes from (setup --from): a ~/.claude directory (its
// .claude.json is the sibling ~/.claude.json), a copy laid out like it (the seed's
// ~/.claude-hub, which may keep .claude.json inside), a credentials JSON file, or "-" for
// stdin (what macOS `security find-generic-password -s "Claude Code-credentials" -w`
// prints). The plugin reads it as the user and keeps it in memory: nothing is written
// anywhere but the store. Symlinks are never followed.

export type LoginSource = { files: LoginFiles; what: string; /** The file --move blanks the refresh token of (null: stdin). */ credentialsFile: string | null };

export async function readLoginSource(spec: string, readStdin: () => Promise<string>): Promise<LoginSource> {
  if (spec === "-") {
    const files = { credentials: await readStdin(), claudeJson: null, config: [] };
    return { files: validateLogin(files, "the credentials on stdin"), what: "stdin", credentialsFile: null };
  }
  const source = path.resolve(spec);
  const stat = lstatOrNull(source);
  if (!stat) throw new UserError(`--from ${spec}: no such file or directory`, 125);
  if (stat.isSymbolicLink()) throw new UserError(`--from ${spec} is a symlink, which claudeauth never follows: give the path it points to`, 125);
  if (stat.isFile()) {
    const files = { credentials: readSourceFile(source), claudeJson: null, config: [] };
    return { files: validateLogin(files, source), what: source, credentialsFile: source };
  }
  if (!stat.isDirectory()) throw new UserError(`--from ${spec} is neither a directory nor a file`, 125);
  if (lstatOrNull(path.join(source, "captures"))) throw new UserError(`--from ${spec} is a claudeauth store, not a login: use it with --store ${spec}`, 125);
  const credentialsFile = path.join(source, CREDENTIALS_FILE);
  if (!lstatOrNull(credentialsFile)) {
    throw new UserError(`--from ${spec} holds no ${CREDENTIALS_FILE}: give a ~/.claude directory (logged in), a copy of it, or a credentials JSON file`, 125);
  }
  const files = { credentials: readSourceFile(credentialsFile), claudeJson: readClaudeJson(source), config: readConfig(source) };
  return { files: validateLogin(files, source), what: source, credentialsFile };
}

/**
 * --move: the source keeps its access token but loses its refresh token, so it can no
 * longer rotate the token family the store now holds. Called only after the commit.
 */
export function blankSourceRefreshToken(source: LoginSource): void {
  if (!source.credentialsFile) return;
  const parsed = parseCredentials(readSourceFile(source.credentialsFile));
  if (!parsed.ok) throw new UserError(`--move: ${source.credentialsFile} changed meanwhile (${parsed.problem}); it was left as it is`);
  const stat = fs.statSync(source.credentialsFile);
  replaceFileAtomically(source.credentialsFile, serializeJson(withoutRefreshToken(parsed.value)), { uid: stat.uid, gid: stat.gid }, stat.mode & 0o777);
}

function readSourceFile(file: string): string {
  return readSourceBytes(file).toString("utf8");
}

function readSourceBytes(file: string): Buffer {
  try {
    return readRegularFile(file, MAX_AUTH_FILE_BYTES);
  } catch (error) {
    if (error instanceof UnsafeFileError) throw new UserError(`cannot import ${file}: ${error.message}`, 125);
    const code = (error as NodeJS.ErrnoException).code;
    throw new UserError(`cannot read ${file}: ${code === "EACCES" ? "permission denied (run as the user who owns it)" : errorMessage(error)}`);
  }
}

/** .claude.json inside the directory (a CLAUDE_CONFIG_DIR, a seed copy), else beside a directory named .claude (~/.claude.json). */
function readClaudeJson(dir: string): string | null {
  for (const candidate of [path.join(dir, CLAUDE_JSON_FILE), ...(path.basename(dir) === ".claude" ? [path.join(path.dirname(dir), CLAUDE_JSON_FILE)] : [])]) {
    if (lstatOrNull(candidate)) return readSourceFile(candidate);
  }
  return null;
}

/** The user config allow-list (settings.json, CLAUDE.md, agents/, commands/): regular files only, symlinks skipped. */
function readConfig(dir: string): LoginFiles["config"] {
  const config: LoginFiles["config"] = [];
  const walk = (relative: string, depth: number) => {
    const file = path.join(dir, relative);
    const stat = lstatOrNull(file);
    if (!stat) return;
    if (stat.isFile()) config.push({ path: relative, data: readSourceBytes(file) });
    else if (stat.isDirectory() && depth < 8) for (const name of fs.readdirSync(file).sort()) walk(`${relative}/${name}`, depth + 1);
    else log.warn(`skipped ${file}: ${stat.isSymbolicLink() ? "a symlink (not followed)" : "not a regular file"}`);
    if (config.length > MAX_CONFIG_FILES) throw new UserError(`${dir}: more than ${MAX_CONFIG_FILES} files under ${USER_CONFIG_ENTRIES.join(", ")}; nothing was stored`);
  };
  for (const entry of USER_CONFIG_ENTRIES) walk(entry, 0);
  return config;
}
