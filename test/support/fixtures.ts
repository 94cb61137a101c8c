import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { onTestFinished } from "vitest";
import { serializeJson, type CredentialsFile } from "../../core/credentials";
import { makePrivateDir, writeNewFile, type Owner } from "../../core/safe-fs";
import { type Capture, commit } from "../../core/store";
import { DirStore } from "../../core/store-dir";
import { STORE_OWNER, TEST_GID, TEST_UID } from "./test-user";
import { trackSecret } from "./token-scan";

// Building blocks for the tests: token-shaped credentials, homes owned by the test user,
// stores seeded through the real core, scripted login commands, tree snapshots.

const HOUR = 3_600_000;

/** A random token of the real shape, tracked by the token scanner (and registered for redaction). */
export function fakeToken(kind: "oat" | "ort", label: string): string {
  const token = `sk-ant-${kind}01-${label}-${crypto.randomBytes(30).toString("base64url")}`;
  trackSecret(token);
  return token;
}

export type CredentialOptions = { expiresInMs?: number; refreshToken?: string | null; extra?: Record<string, unknown>; oauthExtra?: Record<string, unknown> };

export function makeCredentials(label: string, options: CredentialOptions = {}): CredentialsFile {
  const refreshToken = options.refreshToken === undefined ? fakeToken("ort", label) : options.refreshToken;
  return {
    ...options.extra,
    claudeAiOauth: {
      accessToken: fakeToken("oat", label),
      ...(refreshToken === null ? {} : { refreshToken }),
      expiresAt: Date.now() + (options.expiresInMs ?? 8 * HOUR),
      scopes: ["user:inference", "user:profile", "user:sessions:claude_code"],
      subscriptionType: "max",
      ...options.oauthExtra,
    },
  } as CredentialsFile;
}

export function credentialsText(label: string, options: CredentialOptions = {}): string {
  return serializeJson(makeCredentials(label, options));
}

export function claudeJsonText(email = "dev@example.com", extra: Record<string, unknown> = {}): string {
  return serializeJson({
    hasCompletedOnboarding: true,
    lastOnboardingVersion: "2.1.197",
    oauthAccount: { emailAddress: email, organizationName: "Example", accountUuid: crypto.randomUUID() },
    userID: crypto.randomBytes(16).toString("hex"),
    ...extra,
  });
}

/** A fresh directory under the system temp dir (0755: the test user may traverse it), removed after the test. */
export function tempRoot(prefix = "claudeauth-test-", cleanup = true): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o755);
  if (cleanup) {
    try {
      onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
    } catch {
      // Outside a test (a bench, a hook): the caller removes it.
    }
  }
  return dir;
}

export type Tree = Record<string, string | Buffer>;

/** Writes files (relative paths, parents created) owned by `owner`, dirs 0700, files 0600. */
export function writeTree(root: string, files: Tree, owner: Owner = { uid: TEST_UID, gid: TEST_GID }): void {
  for (const [relative, content] of Object.entries(files)) {
    const file = path.join(root, relative);
    let dir = root;
    for (const part of path.dirname(relative).split("/").filter((p) => p && p !== ".")) {
      dir = path.join(dir, part);
      if (!fs.existsSync(dir)) {
        fs.mkdirSync(dir, { mode: 0o700 });
        fs.chownSync(dir, owner.uid, owner.gid);
      }
    }
    fs.writeFileSync(file, content, { mode: 0o600 });
    fs.chownSync(file, owner.uid, owner.gid);
  }
}

/** A home for the test user (0700, owned by it), with the given files in it. */
export function makeHome(root: string, files: Tree = {}, name = "home"): string {
  const home = path.join(root, name);
  fs.mkdirSync(home, { mode: 0o700 });
  fs.chownSync(home, TEST_UID, TEST_GID);
  writeTree(home, files);
  return home;
}

/** `count` small files under ~/.claude/commands: makes a capture take a few ms. */
export function manyCommands(count: number): Tree {
  const files: Tree = {};
  for (let i = 0; i < count; i++) files[`.claude/commands/cmd-${String(i).padStart(4, "0")}.md`] = `# command ${i}\nDo thing number ${i}.\n`;
  return files;
}

/** Commits a capture with these files into the store through the real core. */
export async function seedStore(storeDir: string, files: Tree, owner: Owner = STORE_OWNER): Promise<Capture> {
  const store = new DirStore(storeDir, owner);
  return commit(store,
    (draft) => {
      for (const [relative, content] of Object.entries(files)) {
        let dir = draft;
        for (const part of path.dirname(relative).split("/").filter((p) => p && p !== ".")) {
          dir = path.join(dir, part);
          if (!fs.existsSync(dir)) makePrivateDir(dir, owner);
        }
        writeNewFile(path.join(draft, relative), content, owner);
      }
    },
    { source: "setup", mode: "oauth" },
  );
}

export function currentCapture(storeDir: string): Capture | null {
  return new DirStore(storeDir).readCurrentSync();
}

/** The raw bytes of the current capture's credentials file (null: no capture). */
export function currentCredentialsText(storeDir: string): string | null {
  const capture = currentCapture(storeDir);
  return capture ? fs.readFileSync(path.join(capture.dir, ".credentials.json"), "utf8") : null;
}

export type Entry = { path: string; kind: string; mode: number; uid: number; gid: number; sha256?: string; target?: string };

/** Every entry under `root` (lstat, never followed), sorted: compare two for byte-identity. */
export function snapshotTree(root: string): Entry[] {
  const entries: Entry[] = [];
  const walk = (dir: string) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const file = path.join(dir, name);
      const stat = fs.lstatSync(file);
      const entry: Entry = { path: path.relative(root, file), kind: kindOf(stat), mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid };
      if (stat.isFile()) entry.sha256 = crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
      if (stat.isSymbolicLink()) entry.target = fs.readlinkSync(file);
      entries.push(entry);
      if (stat.isDirectory()) walk(file);
    }
  };
  walk(root);
  return entries;
}

function kindOf(stat: fs.Stats): string {
  if (stat.isFile()) return "file";
  if (stat.isDirectory()) return "dir";
  if (stat.isSymbolicLink()) return "symlink";
  if (stat.isFIFO()) return "fifo";
  if (stat.isSocket()) return "socket";
  return "other";
}

/** An executable script (0755) the test user can run. */
export function writeScript(dir: string, name: string, body: string): string {
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  const file = path.join(dir, name);
  fs.writeFileSync(file, body.startsWith("#!") ? body : `#!/bin/sh\n${body}`, { mode: 0o755 });
  fs.chmodSync(file, 0o755);
  return file;
}

export type LoginScriptOptions = {
  credentials?: string | null;
  claudeJson?: string | null;
  /** CLAUDE_CONFIG_DIR layout: both files in that dir instead of ~/.claude and ~. */
  configDirLayout?: boolean;
  /** Shell run before writing the files (e.g. traps). */
  before?: string;
  /** Shell run after writing them (default: exit 0). */
  after?: string;
};

/**
 * A scripted stand-in for `claude` logging in: writes ~/.claude/.credentials.json and
 * ~/.claude.json the way the CLI does (temp file in the same dir, then rename).
 */
export function loginScript(options: LoginScriptOptions): string {
  return [
    "#!/bin/sh",
    "# Scripted login: writes credentials the way the Claude CLI does (temp file + rename).",
    "set -e",
    "umask 077",
    options.before ?? "",
    writeLoginShell(options),
    options.after ?? "exit 0",
    "",
  ].join("\n");
}

/** Shell that writes the login files like the CLI: a temp file in the same dir, then rename. */
export function writeLoginShell(options: Pick<LoginScriptOptions, "credentials" | "claudeJson" | "configDirLayout">): string {
  const config = options.configDirLayout ? '"$CLAUDE_CONFIG_DIR"' : '"$HOME/.claude"';
  const json = options.configDirLayout ? '"$CLAUDE_CONFIG_DIR/.claude.json"' : '"$HOME/.claude.json"';
  const write = (target: string, text: string) =>
    [`cat > ${target}.tmp.$$ <<'CLAUDEAUTH_TEST_EOF'`, text.replace(/\n$/, ""), "CLAUDEAUTH_TEST_EOF", `mv -f ${target}.tmp.$$ ${target}`].join("\n");
  return [
    `mkdir -p ${config}`,
    options.credentials ? write(`${config.slice(0, -1)}/.credentials.json"`, options.credentials) : "",
    options.claudeJson ? write(json, options.claudeJson) : "",
  ].join("\n");
}

/** Shell that waits until `file` exists (the test's "go on" signal to a running command). */
export function waitForFile(file: string): string {
  return `while [ ! -e '${file}' ]; do sleep 0.02; done`;
}
