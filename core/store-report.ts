import path from "node:path";
import { CREDENTIALS_FILE } from "./layout";
import { summarize, type CredentialSummary } from "./credentials";
import { LONG_LIVED_TOKEN_SHAPE } from "./long-lived-token";
import { UserError, errorMessage } from "./errors";
import { InvalidCaptureError, readOptional, sha256, type Capture, type CaptureMeta, type Store } from "./store";
import { DirStore, type FileEntry } from "./store-dir";
import type { AuditEvent } from "./events";
import { readSettings, settingsWarnings } from "./overrides";

// What a store holds, as data a person or a monitor may see: never a token, only what
// summarize() lets through, names, kinds and modes. One report for every backend, read
// through the Store interface: the plugin builds it in-process for a host directory, and
// the entrypoint's `inspect` mode prints it as JSON for a store only a container can reach
// (a Docker volume). The plugin's analysis (status, doctor, refresh, profile ls) reads it.

export type CaptureReport = {
  generation: number;
  /** null: its claudeauth.json does not read (ignored). */
  meta: CaptureMeta | null;
  /** refreshTokenRejected: the endpoint already refused it (Store.wasRejected; a helper's entry cannot tell: false). */
  credentials: (CredentialSummary & { refreshTokenExpiresAt: number | null; refreshTokenRejected: boolean }) | null;
  longLivedToken: { looksRight: boolean } | null;
  account: { email: string | null; organization: string | null } | null;
  /** A short digest of the login (its credentials or long-lived token), to tell a new login from the same one; not reversible. */
  login: string | null;
  /** Files of the capture that do not read and are ignored by runs. */
  ignored: { file: string; problem: string }[];
  /** Newer captures that do not read: this one is a fallback. */
  skipped: { generation: number; problem: string }[];
  /** What in its settings.json makes the CLI ignore the login (an apiKeyHelper, an API key in "env"), one line each. */
  overrides: string[];
};

export type StoreReport = {
  schema: 1;
  location: string;
  exists: boolean;
  /** A directory store's own entries (none for other backends). */
  files: FileEntry[];
  unreadable: { path: string; problem: string }[];
  /** A directory laid out like ~/.claude (a copy made by the seed's scripts), not a store; whether its credentials file is empty. */
  claudeLayout: { credentialsEmpty: boolean } | null;
  generations: number[];
  rescue: boolean;
  /** Why no capture reads at all (the newest one's problem). */
  problem: string | null;
  current: CaptureReport | null;
  /** The store's audit trail, oldest first (Store.readEvents), and how many lines were not events. */
  events: AuditEvent[];
  eventsSkipped: number;
  /** Why the log does not read (a planted symlink, a special file): runs still work, so only a warning. */
  eventsProblem: string | null;
};

/** Entries at the top of a ~/.claude directory that a store never has. */
const CLAUDE_DIR_MARKS = [CREDENTIALS_FILE, "settings.json", "projects"];

/** The report of a store that does not exist. */
export function emptyReport(location: string): StoreReport {
  return { schema: 1, location, exists: false, files: [], unreadable: [], claudeLayout: null, generations: [], rescue: false, problem: null, current: null, events: [], eventsSkipped: 0, eventsProblem: null };
}

export async function reportStore(store: Store): Promise<StoreReport> {
  const report = emptyReport(store.location);
  if (store instanceof DirStore) {
    const listing = store.list();
    Object.assign(report, { exists: listing.exists, files: listing.entries, unreadable: listing.unreadable });
    const top = listing.entries.filter((e) => !e.path.includes("/")).map((e) => e.path);
    if (!top.includes("captures") && top.some((name) => CLAUDE_DIR_MARKS.includes(name))) {
      report.claudeLayout = { credentialsEmpty: credentialsEmpty(store.root) };
      return report;
    }
    if (!listing.exists || report.unreadable.length > 0) return report;
  }
  try {
    const log = await store.readEvents();
    [report.events, report.eventsSkipped] = [log.events, log.skipped];
  } catch (error) {
    report.eventsProblem = errorMessage(error);
  }
  report.generations = await store.generations();
  report.rescue = await store.hasRescue();
  report.exists ||= report.generations.length > 0 || report.rescue;
  try {
    const capture = await store.readCurrent();
    if (!capture) return report;
    const refreshToken = capture.credentials?.claudeAiOauth.refreshToken;
    const rejected = typeof refreshToken === "string" && (await store.wasRejected(refreshToken));
    report.current = captureReport(capture, rejected, readSettings(capture.dir));
  } catch (error) {
    if (error instanceof InvalidCaptureError) report.problem = error.problem;
    else if (error instanceof UserError) report.unreadable.push({ path: ".", problem: error.message });
    else report.unreadable.push({ path: ".", problem: errorMessage(error) });
  }
  return report;
}

/** What a capture holds, never a token. */
/** rejected: whether the endpoint already refused its refresh token (a store that cannot tell says false); settings: the text of its settings.json. */
export function captureReport(capture: Omit<Capture, "dir">, rejected = false, settings: string | null = null): CaptureReport {
  const oauth = capture.credentials?.claudeAiOauth as Record<string, unknown> | undefined;
  const account = capture.claudeJson?.oauthAccount;
  return {
    generation: capture.generation,
    meta: capture.ignored.some((i) => i.file === "claudeauth.json") ? null : capture.meta,
    credentials: capture.credentials
      ? {
          ...summarize(capture.credentials),
          refreshTokenExpiresAt: typeof oauth?.refreshTokenExpiresAt === "number" ? oauth.refreshTokenExpiresAt : null,
          refreshTokenRejected: typeof oauth?.refreshToken === "string" && rejected,
        }
      : null,
    longLivedToken: capture.longLivedToken ? { looksRight: LONG_LIVED_TOKEN_SHAPE.test(capture.longLivedToken) } : null,
    account: account ? { email: account.emailAddress ?? null, organization: account.organizationName ?? null } : null,
    login: capture.credentials || capture.longLivedToken ? sha256(JSON.stringify(capture.credentials ?? capture.longLivedToken)).slice(0, 16) : null,
    ignored: capture.ignored,
    skipped: capture.skipped,
    overrides: settingsWarnings(settings),
  };
}

function credentialsEmpty(root: string): boolean {
  try {
    return (readOptional(path.join(root, CREDENTIALS_FILE)) ?? "x").trim() === "";
  } catch {
    return false;
  }
}
