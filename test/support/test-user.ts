import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";

// The unprivileged runtime user the entrypoint tests drop to, with one supplementary
// group so that "groups kept" is visible. Created idempotently: CI runs on a fresh machine.
export const TEST_USER = "claudetest";
export const TEST_UID = 23001;
export const TEST_GID = 23001;
export const TEST_EXTRA_GROUP = "claudetest-extra";
export const TEST_EXTRA_GID = 23456;
export const TEST_HOME = `/home/${TEST_USER}`;

/** The host user a store belongs to in the tests: neither root nor the usual 1000. */
export const STORE_OWNER = { uid: 31337, gid: 31337 };

function exists(kind: "passwd" | "group", name: string): boolean {
  return spawnSync("getent", [kind, name], { stdio: "ignore" }).status === 0;
}

/** Runs a user-management command; tolerates losing a race with a concurrent test run. */
function create(kind: "passwd" | "group", name: string, command: string, args: string[]): void {
  if (exists(kind, name)) return;
  const result = spawnSync(command, args, { encoding: "utf8" });
  if (result.status !== 0 && !exists(kind, name)) {
    throw new Error(`cannot create test ${kind === "passwd" ? "user" : "group"} ${name}: ${command} ${args.join(" ")}: ${result.stderr.trim()}`);
  }
}

export function ensureTestUser(): void {
  if (process.getuid?.() !== 0) return; // the entrypoint tests need root and skip themselves
  create("group", TEST_USER, "groupadd", ["-g", String(TEST_GID), TEST_USER]);
  create("group", TEST_EXTRA_GROUP, "groupadd", ["-g", String(TEST_EXTRA_GID), TEST_EXTRA_GROUP]);
  create("passwd", TEST_USER, "useradd", [
    "--no-log-init", "-u", String(TEST_UID), "-g", TEST_USER, "-G", TEST_EXTRA_GROUP, "-d", TEST_HOME, "-s", "/bin/sh", TEST_USER,
  ]);
  // An older run may have made the user without the extra group.
  const groups = execFileSync("id", ["-Gn", TEST_USER], { encoding: "utf8" }).split(/\s+/);
  if (!groups.includes(TEST_EXTRA_GROUP)) execFileSync("usermod", ["-aG", TEST_EXTRA_GROUP, TEST_USER]);
  // The tests bind-mount a private home over this path in a mount namespace of their own.
  fs.mkdirSync(TEST_HOME, { recursive: true, mode: 0o755 });
}

export function canRunEntrypointTests(): boolean {
  return process.getuid?.() === 0;
}
