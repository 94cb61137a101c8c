import path from "node:path";
import { CAPTURE_META_FILE, CLAUDE_JSON_FILE, CREDENTIALS_FILE, LONG_LIVED_TOKEN_FILE, SETTINGS_FILE } from "../../core/layout";
import { parseClaudeJson, parseCredentials, summarize } from "../../core/credentials";
import { formatDuration, formatRelative } from "../../core/duration";
import { registerSecret } from "../../core/redact";
import { LONG_LIVED_TOKEN_SHAPE } from "../../core/long-lived-token";
import { lastEvent, type AuditEvent } from "../../core/events";
import { overrideWarnings } from "../../core/overrides";
import { eventsOf } from "./events";
import { describeStore, DEFAULT_PROFILE, type StoreRef } from "./profile";
import { generationDir, type Entry, type Snapshot } from "./snapshot";

// A store snapshot turned into what a person (status, setup, doctor) or a monitor (--json)
// needs to know. Never a token: only what summarize() lets through, plus names and modes.

export type Level = "fail" | "warn";
export type Finding = { level: Level; message: string; fix?: string };

export type FileInfo = { path: string; type: Entry["type"]; mode: string; owner: string };

export type StoreStatus = {
  profile: string;
  store: { kind: "dir" | "volume"; location: string };
  healthy: boolean;
  /** damaged: the credentials read but another file of the capture does not (a refresh rewrites it). */
  state: "ok" | "expired" | "missing" | "empty" | "invalid" | "damaged" | "unreadable";
  mode: "oauth" | "long-lived" | null;
  capture: { generation: number; capturedAt: string | null; source: string | null } | null;
  accessToken: { expiresAt: string; expiresInMs: number; expired: boolean } | null;
  refreshToken: { present: boolean; expiresAt: string | null } | null;
  longLivedToken: { present: boolean; expiresAtEstimate: string | null } | null;
  scopes: string[];
  subscription: string | null;
  account: { email: string | null; organization: string | null } | null;
  /** From the store's event log: the newest refresh (with the endpoint's answer) and run start. */
  lastRefresh: AuditEvent | null;
  lastRun: AuditEvent | null;
  files: FileInfo[];
  findings: Finding[];
};

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
export const EXPIRY_WARNING_MS = HOUR;
const REFRESH_EXPIRY_WARNING_MS = 7 * DAY;
const LONG_LIVED_LIFETIME_MS = 365 * DAY;
const LONG_LIVED_WARNING_MS = 30 * DAY;
const CLOCK_TOLERANCE_MS = 2 * 60_000;

/** `docker claudeauth CMD` with the options that select this store. */
export function suggest(command: string, ref: StoreRef): string {
  const parts = [`docker claudeauth ${command}`];
  if (ref.profile !== DEFAULT_PROFILE) parts.push(`--profile ${ref.profile}`);
  if (ref.kind === "volume") parts.push(`--volume ${ref.volume}`);
  else if (ref.source === "--store") parts.push(`--store ${quote(ref.path)}`);
  return parts.join(" ");
}

export function quote(text: string): string {
  return /^[A-Za-z0-9_./:@%+=-]+$/.test(text) ? text : `'${text.replace(/'/g, "'\\''")}'`;
}

function octal(mode: number, type: Entry["type"]): string {
  return type === "symlink" ? "link" : `0${(mode & 0o777).toString(8).padStart(3, "0")}`;
}

export function analyze(
  snapshot: Snapshot,
  now = Date.now(),
  hostUser = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 },
  env: NodeJS.ProcessEnv = process.env,
): StoreStatus {
  const ref = snapshot.ref;
  const status: StoreStatus = {
    profile: ref.profile,
    store: { kind: ref.kind, location: ref.kind === "dir" ? ref.path : ref.volume },
    healthy: false,
    state: "ok",
    mode: null,
    capture: null,
    accessToken: null,
    refreshToken: null,
    longLivedToken: null,
    scopes: [],
    subscription: null,
    account: null,
    lastRefresh: null,
    lastRun: null,
    files: snapshot.entries.map((e) => ({ path: e.path, type: e.type, mode: octal(e.mode, e.type), owner: `${e.uid}:${e.gid}` })),
    findings: [],
  };
  const fail = (state: StoreStatus["state"], message: string, fix?: string) => {
    if (status.state === "ok") status.state = state;
    status.findings.push({ level: "fail", message, ...(fix ? { fix } : {}) });
  };
  const warn = (message: string, fix?: string) => status.findings.push({ level: "warn", message, ...(fix ? { fix } : {}) });
  const where = describeStore(ref);

  if (!snapshot.exists) {
    fail("missing", `no store at ${where}: this profile has not been set up`, suggest("setup", ref));
    return status;
  }
  const root = snapshot.entries.find((e) => e.path === ".");
  if (root && root.type !== "dir") {
    fail("invalid", `${where} is not a directory`, `docker claudeauth setup --store DIR (another directory)`);
    return status;
  }

  checkFiles(snapshot, hostUser, warn);
  const { events } = eventsOf(snapshot);
  [status.lastRefresh, status.lastRun] = [lastEvent(events, "refresh"), lastEvent(events, "run-start")];
  if (snapshot.entries.some((e) => e.path === "rescue.json")) {
    warn("a refreshed token waits in rescue.json (its commit failed, e.g. on a full disk): the next run or refresh adopts it", suggest("refresh", ref));
  }
  for (const item of snapshot.unreadable) {
    const entry = snapshot.entries.find((e) => e.path === item.path) ?? root;
    const owner = entry ? ` (owned by ${entry.uid}:${entry.gid}, mode ${octal(entry.mode, entry.type)})` : "";
    const fix = ref.kind === "dir" ? `sudo chown -R ${hostUser.uid}:${hostUser.gid} ${quote(ref.path)}` : undefined;
    fail("unreadable", `cannot read ${displayPath(ref, item.path)}: ${item.problem}${owner}`, fix);
  }
  if (status.state === "unreadable") return status;

  const hasCaptures = snapshot.entries.some((e) => e.path === "captures" && e.type === "dir");
  if (!hasCaptures) {
    if (snapshot.entries.some((e) => e.path === CREDENTIALS_FILE || e.path === "settings.json" || e.path === "projects")) {
      const text = snapshot.contents.get(CREDENTIALS_FILE);
      const detail = text === undefined ? "" : text.trim() === "" ? "; its .credentials.json is empty: the interactive login was not completed" : "";
      fail(
        "invalid",
        `${where} is laid out like ~/.claude (a copy made by the old setup scripts), not a claudeauth store${detail}; a production container mounting it finds no credentials`,
        suggest("setup", ref),
      );
    } else fail("empty", `${where} holds no capture yet: log in first`, suggest("setup", ref));
    return status;
  }
  if (snapshot.generation === null) {
    fail("empty", `${where} holds no capture yet (an earlier login did not complete?)`, suggest("setup", ref));
    return status;
  }

  const generation = snapshot.generation;
  const dir = generationDir(generation);
  const text = (name: string) => snapshot.contents.get(`${dir}/${name}`);
  const metaText = text(CAPTURE_META_FILE);
  const meta = parseMeta(metaText);
  status.capture = { generation, capturedAt: meta?.capturedAt || null, source: meta?.source ?? null };

  const credentialsText = text(CREDENTIALS_FILE);
  const longLived = text(LONG_LIVED_TOKEN_FILE)?.trim() || null;
  registerSecret(longLived);
  const problem = credentialProblem(snapshot, generation);
  if (problem !== null) {
    // Runs use the newest capture whose credentials read (see Store.readCurrent).
    const usable = snapshot.generations.find((g) => credentialProblem(snapshot, g) === null);
    const fallback = usable === undefined ? "" : `; runs fall back to capture ${usable}, whose refresh token may already have been spent`;
    fail("invalid", `the current capture (${generation}) is unusable: ${problem}${fallback}`, suggest("setup", ref));
    return status;
  }
  const credentials = credentialsText === undefined ? null : parseCredentials(credentialsText);
  if (credentials?.ok) {
    registerSecret(credentials.value.claudeAiOauth.accessToken);
    registerSecret(credentials.value.claudeAiOauth.refreshToken);
  }
  // Files that do not authenticate: runs ignore them, but the store is damaged; a new capture rewrites them.
  const repair = credentials?.ok ? suggest("refresh", ref) : suggest("setup --long-lived", ref);
  const claudeJsonText = text(CLAUDE_JSON_FILE);
  if (claudeJsonText !== undefined) {
    const parsed = parseClaudeJson(claudeJsonText);
    if (!parsed.ok) fail("damaged", `the current capture (${generation}) is damaged: ${parsed.problem} (runs ignore it)`, repair);
    else {
      const account = parsed.value.oauthAccount;
      status.account = { email: account?.emailAddress ?? null, organization: account?.organizationName ?? null };
    }
  }
  if (metaText !== undefined && !meta) fail("damaged", `the current capture (${generation}) is damaged: ${CAPTURE_META_FILE} is not valid capture metadata (truncated or corrupt)`, repair);
  if (status.state !== "ok") return status;
  const credentialsValue = credentials?.ok ? credentials.value : null;

  status.mode = meta?.mode === "long-lived" || (!credentialsValue && longLived) ? "long-lived" : "oauth";
  // A run gets the host's variable with -e NAME; the captured settings reach every run.
  for (const warning of overrideWarnings(env, text(SETTINGS_FILE) ?? null, "this shell's environment (a run gets it with -e)")) warn(warning);
  const capturedAt = status.capture.capturedAt ? Date.parse(status.capture.capturedAt) : NaN;
  if (Number.isFinite(capturedAt) && capturedAt - now > CLOCK_TOLERANCE_MS) {
    warn(`the current capture is dated ${formatDuration(capturedAt - now)} in the future: the clock of the machine that made it, or this one, is wrong`, "sudo timedatectl set-ntp true");
  }

  if (status.mode === "long-lived" && longLived) {
    const estimate = Number.isFinite(capturedAt) ? capturedAt + LONG_LIVED_LIFETIME_MS : null;
    status.longLivedToken = { present: true, expiresAtEstimate: estimate ? new Date(estimate).toISOString() : null };
    if (!LONG_LIVED_TOKEN_SHAPE.test(longLived)) warn("the long-lived token does not look like one `claude setup-token` prints (sk-ant-oat01-...)", suggest("setup --long-lived", ref));
    if (estimate !== null && estimate - now < LONG_LIVED_WARNING_MS) {
      warn(
        estimate <= now
          ? `the long-lived token was made ${formatDuration(now - capturedAt)} ago; such tokens last one year and it has probably expired`
          : `the long-lived token probably expires ${formatRelative(estimate - now)} (tokens from claude setup-token last one year)`,
        suggest("setup --long-lived", ref),
      );
    }
  }

  if (credentialsValue) {
    const summary = summarize(credentialsValue, now);
    const oauth = credentialsValue.claudeAiOauth as Record<string, unknown>;
    status.accessToken = { expiresAt: new Date(summary.expiresAt).toISOString(), expiresInMs: summary.expiresInMs, expired: summary.expired };
    const refreshExpiresAt = typeof oauth.refreshTokenExpiresAt === "number" ? oauth.refreshTokenExpiresAt : null;
    status.refreshToken = { present: summary.hasRefreshToken, expiresAt: refreshExpiresAt ? new Date(refreshExpiresAt).toISOString() : null };
    status.scopes = summary.scopes;
    status.subscription = summary.subscription;
    if (status.mode === "oauth") {
      if (summary.expired) {
        fail(
          "expired",
          `the access token expired ${formatDuration(-summary.expiresInMs)} ago${summary.hasRefreshToken ? " (the refresh token can renew it)" : " and there is no refresh token"}`,
          summary.hasRefreshToken ? suggest("refresh", ref) : suggest("setup", ref),
        );
      } else if (summary.expiresInMs < EXPIRY_WARNING_MS) {
        warn(`the access token expires ${formatRelative(summary.expiresInMs)}`, summary.hasRefreshToken ? suggest("refresh", ref) : suggest("setup", ref));
      }
      if (summary.expiresInMs > 2 * DAY) {
        warn(
          `the access token expires ${formatRelative(summary.expiresInMs)}, far later than OAuth access tokens live (about 8 hours): a clock is wrong`,
          "sudo timedatectl set-ntp true",
        );
      }
      if (!summary.hasRefreshToken) warn("no refresh token: the access token cannot be renewed; log in again before it expires", suggest("setup", ref));
      if (refreshExpiresAt !== null && refreshExpiresAt - now < REFRESH_EXPIRY_WARNING_MS) {
        warn(
          refreshExpiresAt <= now ? `the refresh token expired ${formatDuration(now - refreshExpiresAt)} ago` : `the refresh token expires ${formatRelative(refreshExpiresAt - now)}`,
          suggest("setup", ref),
        );
      }
    }
  }
  status.healthy = status.findings.every((f) => f.level !== "fail");
  return status;
}

/** Why a capture's credentials cannot be used (as the entrypoint reads them), null if they can. */
function credentialProblem(snapshot: Snapshot, generation: number): string | null {
  const dir = generationDir(generation);
  const credentialsText = snapshot.contents.get(`${dir}/${CREDENTIALS_FILE}`);
  if (credentialsText !== undefined) {
    const parsed = parseCredentials(credentialsText);
    if (parsed.ok) return null;
    return credentialsText.trim() === "" ? ".credentials.json is empty: the login was not completed" : parsed.problem;
  }
  if (snapshot.contents.get(`${dir}/${LONG_LIVED_TOKEN_FILE}`)?.trim()) return null;
  return "it holds no credentials (.credentials.json or a long-lived token)";
}

function parseMeta(text: string | undefined): { capturedAt?: string; source?: string; mode?: string } | null {
  if (!text) return null;
  try {
    const value = JSON.parse(text) as Record<string, unknown>;
    if (typeof value !== "object" || value === null || typeof value.source !== "string") return null;
    return {
      ...(typeof value.capturedAt === "string" ? { capturedAt: value.capturedAt } : {}),
      ...(typeof value.source === "string" ? { source: value.source } : {}),
      ...(typeof value.mode === "string" ? { mode: value.mode } : {}),
    };
  } catch {
    return null;
  }
}

function displayPath(ref: StoreRef, relative: string): string {
  if (ref.kind === "volume") return relative === "." ? `volume ${ref.volume}` : `${relative} in volume ${ref.volume}`;
  return relative === "." ? ref.path : path.join(ref.path, relative);
}

/** Modes and owners: dirs 0700, files 0600, all owned by the host user (host dirs). */
function checkFiles(snapshot: Snapshot, hostUser: { uid: number; gid: number }, warn: (m: string, f?: string) => void): void {
  const ref = snapshot.ref;
  const open = snapshot.entries.filter((e) => e.type !== "symlink" && (e.mode & 0o077) !== 0 && isStorePath(e.path));
  if (open.length > 0) {
    const sample = open.slice(0, 3).map((e) => `${displayPath(ref, e.path)} (${octal(e.mode, e.type)})`).join(", ");
    const fix = ref.kind === "dir" ? `chmod -R go= ${quote(ref.path)}` : suggest("setup", ref);
    warn(`${open.length} file${open.length === 1 ? "" : "s"} of the store can be read by other users: ${sample}${open.length > 3 ? ", ..." : ""}`, fix);
  }
  const links = snapshot.entries.filter((e) => e.type === "symlink" && e.path.startsWith("captures/"));
  if (links.length > 0) warn(`the store holds symlinks, which claudeauth never follows: ${links.map((e) => displayPath(ref, e.path)).join(", ")}`, suggest("setup", ref));
  if (ref.kind !== "dir") return;
  const foreign = snapshot.entries.filter((e) => e.uid !== hostUser.uid && isStorePath(e.path));
  if (foreign.length > 0) {
    const owners = [...new Set(foreign.map((e) => `${e.uid}:${e.gid}`))].join(", ");
    const message = `${foreign.length} file${foreign.length === 1 ? "" : "s"} of the store belong to ${owners}, not to you (${hostUser.uid}:${hostUser.gid}): ${foreign
      .slice(0, 3)
      .map((e) => displayPath(ref, e.path))
      .join(", ")}${foreign.length > 3 ? ", ..." : ""}`;
    const fix = `sudo chown -R ${hostUser.uid}:${hostUser.gid} ${quote(ref.path)}`;
    warn(message, fix);
  }
}

function isStorePath(relative: string): boolean {
  return relative === "." || relative === "captures" || relative.startsWith("captures/") || relative.startsWith(".lock") || relative.startsWith("rescue") || relative.startsWith(".rescue") || relative === "rejected";
}
