import fs from "node:fs";
import { UsageError } from "../docker-cli/spec";

// Who the workload runs as, so that what it writes in the workspace belongs to the right
// user. Never root: a root workload could read the store's refresh token.
//   --user UID[:GID]        those ids (GID defaults to UID)
//   host user not root      the host user's ids: files in the workspace are yours
//   host user root (CI)     the owner of the workspace: files it writes belong to whoever owns
//                           the checkout, as if that user had written them
//   ... workspace root's    the image's user (claude, 10001), which cannot write it: a warning

export type Ids = { uid: number; gid: number };
export type WorkloadUser = { ids: Ids | null; warning: string | null };

export function parseUser(value: string): Ids {
  const match = /^(\d+)(?::(\d+))?$/.exec(value);
  if (!match) throw new UsageError(`invalid --user "${value}": give numeric ids, UID or UID:GID (e.g. --user 1000:1000)`, "docker claudeauth run");
  const ids = { uid: Number(match[1]), gid: Number(match[2] ?? match[1]) };
  if (ids.uid === 0) throw new UsageError("--user 0: the workload never runs as root (it could read the store's refresh token); give a non-root uid", "docker claudeauth run");
  return ids;
}

export function workloadUser(given: string | undefined, workspace: string | null, host: Ids = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 }): WorkloadUser {
  if (given !== undefined) return { ids: parseUser(given), warning: null };
  if (host.uid !== 0) return { ids: host, warning: null };
  if (workspace === null) return { ids: null, warning: null };
  const owner = fs.statSync(workspace);
  if (owner.uid !== 0) return { ids: { uid: owner.uid, gid: owner.gid }, warning: null };
  return {
    ids: null,
    warning: `the workspace ${workspace} belongs to root and the workload never runs as root: it runs as the image's user (10001) and cannot write there; give the workspace to a user (chown -R 1000:1000 DIR) and pass --user 1000:1000, or run as a non-root user`,
  };
}

/** The entrypoint's variables for these ids (none: the image's user). */
export function workloadUserFlags(user: WorkloadUser): string[] {
  return user.ids ? ["-e", `CLAUDEAUTH_UID=${user.ids.uid}`, "-e", `CLAUDEAUTH_GID=${user.ids.gid}`] : [];
}

/** doctor, when the plugin runs as root: who the workload in the current directory would run as. */
export function rootUserFinding(workspace = process.cwd()): { name: string; level: "ok" | "warn"; message: string; fix?: string } {
  const user = workloadUser(undefined, workspace, { uid: 0, gid: 0 });
  if (user.ids) {
    return { name: "user", level: "ok", message: `you run as root: a run here gives the workload the workspace owner's ids (${user.ids.uid}:${user.ids.gid}), never root` };
  }
  return {
    name: "user",
    level: "warn",
    message: `you run as root and ${workspace} belongs to root: the workload (never root) could not write it`,
    fix: "chown -R 1000:1000 DIR and run with --user 1000:1000, or run the plugin as a non-root user",
  };
}
