import { formatRelative } from "../../core/duration";
import type { Finding, StoreStatus } from "./analyze";

// Text renderings shared by status, setup, refresh and profile ls.

/** 2025-06-01 16:03:20 +02:00: local time, with the offset, to the second. */
export function formatTimestamp(ms: number): string {
  const date = new Date(ms);
  const pad = (n: number) => String(Math.abs(n)).padStart(2, "0");
  const offset = -date.getTimezoneOffset();
  const zone = `${offset >= 0 ? "+" : "-"}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`;
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())} ${zone}`;
}

export function when(iso: string, now = Date.now()): string {
  const ms = Date.parse(iso);
  return `${formatRelative(ms - now)} (${formatTimestamp(ms)})`;
}

export function stateWord(status: StoreStatus): string {
  if (status.healthy) return status.findings.some((f) => f.level === "warn") ? "healthy, with warnings" : "healthy";
  return { ok: "healthy", expired: "expired", missing: "not set up", empty: "not logged in", invalid: "invalid", damaged: "damaged", unreadable: "unreadable" }[status.state];
}

export function renderFinding(finding: Finding): string {
  return `${{ fail: "problem", warn: "warning", note: "note" }[finding.level]}: ${finding.message}${finding.fix ? `\n    fix: ${finding.fix}` : ""}`;
}

export function renderStatus(status: StoreStatus, options: { files?: boolean } = {}, now = Date.now()): string {
  const rows: [string, string][] = [
    ["Profile", status.profile],
    ["Store", status.store.kind === "volume" ? `volume ${status.store.location}` : status.store.location],
    ["Status", stateWord(status)],
  ];
  if (status.mode) rows.push(["Mode", status.mode === "oauth" ? "oauth (access token renewed with the refresh token)" : "long-lived token (claude setup-token)"]);
  if (status.account?.email) rows.push(["Account", `${status.account.email}${status.account.organization ? ` (${status.account.organization})` : ""}`]);
  if (status.mode === "oauth" || status.subscription) rows.push(["Subscription", status.subscription ?? "unknown"]);
  if (status.accessToken) rows.push(["Access token", `${status.accessToken.expired ? "expired " : "expires "}${when(status.accessToken.expiresAt, now)}`]);
  if (status.refreshToken) {
    rows.push(["Refresh token", status.refreshToken.present ? `present${status.refreshToken.expiresAt ? `, expires ${when(status.refreshToken.expiresAt, now)}` : ""}` : "absent"]);
  }
  if (status.longLivedToken) {
    rows.push(["Long-lived token", `present${status.longLivedToken.expiresAtEstimate ? `, expires ${when(status.longLivedToken.expiresAtEstimate, now).replace(/^in /, "in about ")}` : ""}`]);
  }
  if (status.scopes.length) rows.push(["Scopes", status.scopes.join(" ")]);
  if (status.capture) {
    const at = status.capture.capturedAt ? `, ${when(status.capture.capturedAt, now)}` : "";
    rows.push(["Last capture", `#${status.capture.generation}${status.capture.source ? ` by ${status.capture.source}` : ""}${at}`]);
  }
  const width = Math.max(...rows.map(([k]) => k.length)) + 2;
  const lines = rows.map(([k, v]) => `${`${k}:`.padEnd(width)}${v}`);
  if (options.files !== false && status.files.length) {
    lines.push("Files:");
    const ownerWidth = Math.max(...status.files.map((f) => f.owner.length));
    for (const file of status.files) lines.push(`  ${file.mode.padEnd(5)} ${file.owner.padEnd(ownerWidth)}  ${file.path}${file.type === "dir" && file.path !== "." ? "/" : ""}`);
  }
  for (const finding of status.findings) lines.push(renderFinding(finding));
  return lines.join("\n");
}

/** The JSON shape of `status --format json` (and of each element with --all). */
export function statusJson(status: StoreStatus): Record<string, unknown> {
  return {
    profile: status.profile,
    store: status.store,
    // The exit code: a run would work now (healthy), and whether it first renews the access token.
    healthy: status.healthy,
    renews: status.healthy && status.state === "expired",
    state: status.state,
    mode: status.mode,
    account: status.account,
    subscription: status.subscription,
    accessToken: status.accessToken,
    refreshToken: status.refreshToken,
    longLivedToken: status.longLivedToken,
    scopes: status.scopes,
    capture: status.capture,
    files: status.files,
    problems: status.findings.filter((f) => f.level === "fail"),
    warnings: status.findings.filter((f) => f.level === "warn"),
    notes: status.findings.filter((f) => f.level === "note"),
  };
}
