import path from "node:path";
import { formatDuration, formatRelative } from "../../core/duration";
import type { FileEntry } from "../../core/store-dir";
import type { StoreReport } from "../../core/store-report";
import { lastEvent, type AuditEvent } from "../../core/events";
import { environmentWarnings } from "../../core/overrides";
import { describeStore, DEFAULT_PROFILE, type StoreRef } from "./profile";

// A store report (core/store-report.ts) turned into what a person (status, setup, doctor) or a monitor (--format json)
// needs to know. Never a token: only what summarize() lets through, plus names and modes.

/** fail: a run would not work (status exits 1); warn: it would, but look; note: normal, said for the record. */
export type Level = "fail" | "warn" | "note";
export type Finding = { level: Level; message: string; fix?: string };

export type FileInfo = { path: string; type: FileEntry["type"]; mode: string; owner: string };

export type StoreStatus = {
  profile: string;
  store: { kind: StoreRef["kind"]; location: string };
  healthy: boolean;
  /** damaged: the credentials read but another file of the capture does not (a refresh rewrites it). */
  state: "ok" | "expired" | "missing" | "empty" | "invalid" | "damaged" | "unreadable";
  mode: "oauth" | "long-lived" | null;
  capture: { generation: number; capturedAt: string | null; source: string | null } | null;
  accessToken: { expiresAt: string; expiresInMs: number; expired: boolean } | null;
  /** rejected: the token endpoint already refused it (invalid_grant): only a new login helps. */
  refreshToken: { present: boolean; expiresAt: string | null; rejected: boolean } | null;
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
  if (ref.kind === "volume") parts.push(`--store-volume ${ref.volume}`);
  else if (ref.kind === "helper") parts.push(`--store helper:${ref.configured ? "" : ref.helper}`);
  else if (ref.kind === "k8s") {
    parts.push(`--store ${ref.address}`);
    if (ref.kubeconfig) parts.push(`--kubeconfig ${quote(ref.kubeconfig)}`);
    if (ref.context) parts.push(`--context ${quote(ref.context)}`);
  }
  else if (ref.source === "--store") parts.push(`--store ${quote(ref.path)}`);
  return parts.join(" ");
}

export function quote(text: string): string {
  return /^[A-Za-z0-9_./:@%+=-]+$/.test(text) ? text : `'${text.replace(/'/g, "'\\''")}'`;
}

function octal(mode: number, type: FileEntry["type"]): string {
  return type === "symlink" ? "link" : `0${(mode & 0o777).toString(8).padStart(3, "0")}`;
}

export function analyze(
  ref: StoreRef,
  report: StoreReport,
  now = Date.now(),
  hostUser = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 },
  env: NodeJS.ProcessEnv = process.env,
): StoreStatus {
  const status: StoreStatus = {
    profile: ref.profile,
    store: {
      kind: ref.kind,
      location: ref.kind === "dir" ? ref.path : ref.kind === "volume" ? ref.volume : ref.kind === "k8s" ? ref.address : `helper:${ref.helper}`,
    },
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
    lastRefresh: lastEvent(report.events, "refresh"),
    lastRun: lastEvent(report.events, "run-start"),
    files: report.files.map((e) => ({ path: e.path, type: e.type, mode: octal(e.mode, e.type), owner: `${e.uid}:${e.gid}` })),
    findings: [],
  };
  const fail = (state: StoreStatus["state"], message: string, fix?: string) => {
    if (status.state === "ok") status.state = state;
    status.findings.push({ level: "fail", message, ...(fix ? { fix } : {}) });
  };
  const warn = (message: string, fix?: string) => status.findings.push({ level: "warn", message, ...(fix ? { fix } : {}) });
  const note = (message: string) => status.findings.push({ level: "note", message });
  const where = describeStore(ref);

  if (!report.exists) {
    fail("missing", `no store at ${where}: this profile has not been set up`, suggest("setup", ref));
    return status;
  }
  const root = report.files.find((e) => e.path === ".");
  if (root && root.type !== "dir") {
    fail("invalid", `${where} is not a directory`, `docker claudeauth setup --store DIR (another directory)`);
    return status;
  }
  if (report.claudeLayout) {
    const detail = report.claudeLayout.credentialsEmpty ? "; its .credentials.json is empty: the interactive login was not completed" : "";
    fail(
      "invalid",
      `${where} is laid out like ~/.claude (a copy made by the old setup scripts), not a claudeauth store${detail}; a production container mounting it finds no credentials`,
      suggest("setup", ref),
    );
    return status;
  }

  checkFiles(ref, report.files, hostUser, warn);
  if (report.eventsProblem !== null) warn(`the store's event log does not read (${report.eventsProblem}): runs work, but no event is recorded; move it aside`);
  if (report.rescue) {
    warn("a refreshed token waits in rescue.json (its commit failed, e.g. on a full disk): the next run or refresh adopts it", suggest("refresh", ref));
  }
  for (const item of report.unreadable) {
    const entry = report.files.find((e) => e.path === item.path) ?? root;
    const owner = entry ? ` (owned by ${entry.uid}:${entry.gid}, mode ${octal(entry.mode, entry.type)})` : "";
    const fix = ref.kind === "dir" ? `sudo chown -R ${hostUser.uid}:${hostUser.gid} ${quote(ref.path)}` : undefined;
    fail("unreadable", `cannot read ${displayPath(ref, item.path)}: ${item.problem}${owner}`, fix);
  }
  if (status.state === "unreadable") return status;

  const newest = report.generations[0];
  if (report.problem !== null && newest !== undefined) {
    fail("invalid", `the current capture (${newest}) is unusable: ${explain(report.problem)}`, suggest("setup", ref));
    return status;
  }
  const current = report.current;
  if (!current) {
    fail("empty", report.generations.length === 0 && report.files.some((e) => e.path === "captures") ? `${where} holds no capture yet (an earlier login did not complete?)` : `${where} holds no capture yet: log in first`, suggest("setup", ref));
    return status;
  }
  status.capture = { generation: current.generation, capturedAt: current.meta?.capturedAt || null, source: current.meta?.source ?? null };
  const skipped = current.skipped[0];
  if (skipped) {
    // Runs use the newest capture whose credentials read (DirStore.readCurrent).
    fail(
      "invalid",
      `the current capture (${skipped.generation}) is unusable: ${explain(skipped.problem)}; runs fall back to capture ${current.generation}, whose refresh token may already have been spent`,
      suggest("setup", ref),
    );
    status.capture = { generation: skipped.generation, capturedAt: null, source: null };
    return status;
  }
  if (current.meta?.mode === "logged-out") {
    fail("empty", `${where} is logged out (its settings are kept): log in again`, suggest("setup", ref));
    return status;
  }
  // Files that do not authenticate: runs ignore them, but the store is damaged; a new capture rewrites them.
  const repair = current.credentials ? suggest("refresh", ref) : suggest("setup --long-lived", ref);
  for (const ignored of current.ignored) fail("damaged", `the current capture (${current.generation}) is damaged: ${ignored.problem} (runs ignore it)`, repair);
  if (current.account) status.account = current.account;
  if (status.state !== "ok") return status;

  status.mode = current.meta?.mode === "long-lived" || (!current.credentials && current.longLivedToken) ? "long-lived" : "oauth";
  // A run gets the host's variable with -e NAME; the captured settings reach every run.
  for (const warning of [...environmentWarnings(env, "this shell's environment (a run gets it with -e)"), ...current.overrides]) warn(warning);
  const capturedAt = status.capture.capturedAt ? Date.parse(status.capture.capturedAt) : NaN;
  if (Number.isFinite(capturedAt) && capturedAt - now > CLOCK_TOLERANCE_MS) {
    warn(`the current capture is dated ${formatDuration(capturedAt - now)} in the future: the clock of the machine that made it, or this one, is wrong`, "sudo timedatectl set-ntp true");
  }

  if (status.mode === "long-lived" && current.longLivedToken) {
    const estimate = Number.isFinite(capturedAt) ? capturedAt + LONG_LIVED_LIFETIME_MS : null;
    status.longLivedToken = { present: true, expiresAtEstimate: estimate ? new Date(estimate).toISOString() : null };
    if (!current.longLivedToken.looksRight) warn("the long-lived token does not look like one `claude setup-token` prints (sk-ant-oat01-...)", suggest("setup --long-lived", ref));
    if (estimate !== null && estimate - now < LONG_LIVED_WARNING_MS) {
      warn(
        estimate <= now
          ? `the long-lived token was made ${formatDuration(now - capturedAt)} ago; such tokens last one year and it has probably expired`
          : `the long-lived token probably expires ${formatRelative(estimate - now)} (tokens from claude setup-token last one year)`,
        suggest("setup --long-lived", ref),
      );
    }
  }

  if (current.credentials) {
    const summary = { ...current.credentials, expiresInMs: current.credentials.expiresAt - now, expired: current.credentials.expiresAt <= now };
    const refreshExpiresAt = current.credentials.refreshTokenExpiresAt;
    status.accessToken = { expiresAt: new Date(summary.expiresAt).toISOString(), expiresInMs: summary.expiresInMs, expired: summary.expired };
    const rejected = summary.hasRefreshToken && current.credentials.refreshTokenRejected;
    const renewable = summary.hasRefreshToken && !rejected && (refreshExpiresAt === null || refreshExpiresAt > now);
    status.refreshToken = { present: summary.hasRefreshToken, expiresAt: refreshExpiresAt ? new Date(refreshExpiresAt).toISOString() : null, rejected };
    status.scopes = summary.scopes;
    status.subscription = summary.subscription;
    if (status.mode === "oauth") {
      if (summary.expired && renewable) {
        // The normal state of an idle login: the next run (or refresh) renews it first.
        status.state = "expired";
        note(`the access token expired ${formatDuration(-summary.expiresInMs)} ago; the refresh token renews it at the next run (or "${suggest("refresh", ref)}")`);
      } else if (summary.expired) {
        const why = rejected ? "the token endpoint rejected the refresh token" : summary.hasRefreshToken ? "the refresh token has expired" : "there is no refresh token";
        fail("expired", `the access token expired ${formatDuration(-summary.expiresInMs)} ago and ${why}: log in again`, suggest("setup", ref));
      } else if (summary.expiresInMs < EXPIRY_WARNING_MS) {
        warn(`the access token expires ${formatRelative(summary.expiresInMs)}`, renewable ? suggest("refresh", ref) : suggest("setup", ref));
      }
      if (summary.expiresInMs > 2 * DAY) {
        warn(
          `the access token expires ${formatRelative(summary.expiresInMs)}, far later than OAuth access tokens live (about 8 hours): a clock is wrong`,
          "sudo timedatectl set-ntp true",
        );
      }
      if (rejected && !summary.expired) warn(`the token endpoint rejected the refresh token: runs work until the access token expires ${formatRelative(summary.expiresInMs)}, then a new login is needed`, suggest("setup", ref));
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

/** A capture's problem as a person reads it: an empty credentials file is a login that was not completed. */
function explain(problem: string): string {
  if (problem === ".credentials.json is empty") return ".credentials.json is empty: the login was not completed";
  return problem.replace(/^the capture holds no credentials/, "it holds no credentials");
}

function displayPath(ref: StoreRef, relative: string): string {
  if (ref.kind === "volume") return relative === "." ? `volume ${ref.volume}` : `${relative} in volume ${ref.volume}`;
  if (ref.kind === "helper" || ref.kind === "k8s") return relative === "." ? describeStore(ref) : `${relative} in ${describeStore(ref)}`;
  return relative === "." ? ref.path : path.join(ref.path, relative);
}

/** Modes and owners: dirs 0700, files 0600, all owned by the host user (host dirs). */
function checkFiles(ref: StoreRef, entries: FileEntry[], hostUser: { uid: number; gid: number }, warn: (m: string, f?: string) => void): void {
  const open = entries.filter((e) => e.type !== "symlink" && (e.mode & 0o077) !== 0 && isStorePath(e.path));
  if (open.length > 0) {
    const sample = open.slice(0, 3).map((e) => `${displayPath(ref, e.path)} (${octal(e.mode, e.type)})`).join(", ");
    const fix = ref.kind === "dir" ? `chmod -R go= ${quote(ref.path)}` : suggest("setup", ref);
    warn(`${open.length} file${open.length === 1 ? "" : "s"} of the store can be read by other users: ${sample}${open.length > 3 ? ", ..." : ""}`, fix);
  }
  const links = entries.filter((e) => e.type === "symlink" && e.path.startsWith("captures/"));
  if (links.length > 0) warn(`the store holds symlinks, which claudeauth never follows: ${links.map((e) => displayPath(ref, e.path)).join(", ")}`, suggest("setup", ref));
  if (ref.kind !== "dir") return;
  const foreign = entries.filter((e) => e.uid !== hostUser.uid && isStorePath(e.path));
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
