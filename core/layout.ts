import path from "node:path";

// Where things live: in the Claude CLI's own directories and in a store capture.
// A capture is laid out like CLAUDE_CONFIG_DIR, so a working copy is a plain copy of it.

export const CREDENTIALS_FILE = ".credentials.json";
export const CLAUDE_JSON_FILE = ".claude.json";
export const LONG_LIVED_TOKEN_FILE = "oauth-token";
export const CAPTURE_META_FILE = "claudeauth.json";
/** At the store root: digests of refresh tokens the endpoint rejected (never sent again). */
export const REJECTED_FILE = "rejected";

/**
 * The one size bound for every file the binaries read or copy from a home, a capture or a
 * working copy: .claude.json can carry a long project list. A file over it is skipped with a
 * warning, never truncated; one bound everywhere means no path keeps a file another drops.
 */
export const MAX_AUTH_FILE_BYTES = 16 * 1024 * 1024;

/** User configuration worth carrying to production, besides the auth files themselves. */
export const USER_CONFIG_ENTRIES = ["settings.json", "CLAUDE.md", "agents", "commands"] as const;

/**
 * Per-machine state that is never captured: history grows without bound, the rest belongs
 * to one machine. Listed so that docs and checks can name them; the capture is an
 * allow-list and never looks at them.
 */
export const PER_MACHINE_STATE = [
  "projects", "sessions", "todos", "statsig", "shell-snapshots", "telemetry", "debug", "ide", ".oauth_refresh.lock",
] as const;

export const DEFAULT_STORE_IN_CONTAINER = "/var/lib/claudeauth/store";

/** The CLI's own locations for a given HOME / CLAUDE_CONFIG_DIR. */
export function cliPaths(home: string, configDir?: string) {
  const dir = configDir || path.join(home, ".claude");
  return {
    configDir: dir,
    credentials: path.join(dir, CREDENTIALS_FILE),
    // With CLAUDE_CONFIG_DIR set, the CLI keeps .claude.json inside it; otherwise at HOME.
    claudeJson: configDir ? path.join(configDir, CLAUDE_JSON_FILE) : path.join(home, CLAUDE_JSON_FILE),
  };
}

export const GENERATION_NAME = /^\d{8}$/;

export function generationName(generation: number): string {
  return String(generation).padStart(8, "0");
}

/** Whether absolute path `inner` is `outer` or lies below it (no file system access). */
export function isWithin(inner: string, outer: string): boolean {
  const rel = path.relative(outer, inner);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}
