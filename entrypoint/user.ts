import fs from "node:fs";
import { UserError } from "../core/errors";

// Who the workload runs as. Read from /etc/passwd directly: no getent, no NSS, no spawn.
export type RuntimeUser = { name: string; uid: number; gid: number; home: string; known: boolean };

export function resolveUser(nameOrUid: string, overrides: { uid?: number | undefined; gid?: number | undefined } = {}): RuntimeUser {
  const entry = readPasswd().find((e) => e.name === nameOrUid || String(e.uid) === nameOrUid);
  if (!entry && !/^\d+$/.test(nameOrUid)) {
    throw new UserError(`runtime user "${nameOrUid}" is not in /etc/passwd: create it in the image or set CLAUDEAUTH_USER to an existing user`);
  }
  const base = entry ?? { name: nameOrUid, uid: Number(nameOrUid), gid: Number(nameOrUid), home: "/tmp" };
  // An override uid (the host user's, so files in a mounted workspace get the right owner)
  // keeps the user's home but loses its name and groups.
  const uid = overrides.uid ?? base.uid;
  if (uid === 0) {
    throw new UserError("refusing to run the workload as root: it could read and spend the store's refresh token; set CLAUDEAUTH_USER / CLAUDEAUTH_UID to a non-root user");
  }
  const gid = overrides.gid ?? (overrides.uid !== undefined && overrides.uid !== base.uid ? uid : base.gid);
  return { name: base.name, uid, gid, home: base.home, known: Boolean(entry) && uid === base.uid };
}

function readPasswd(): { name: string; uid: number; gid: number; home: string }[] {
  let text = "";
  try {
    text = fs.readFileSync("/etc/passwd", "utf8");
  } catch {
    return [];
  }
  return text
    .split("\n")
    .map((line) => line.split(":"))
    .filter((f) => f.length >= 7)
    .map((f) => ({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5]! }));
}

const TMPFS_MAGIC = 0x01021994;

/**
 * A hardened container (read-only root) mounts a tmpfs over the user's home; the mount
 * takes the home's mode but not its owner, so it arrives root-owned and the user could not
 * write there. Give it to the user before anything of theirs runs. Nothing but an empty,
 * root-owned tmpfs home is ever changed.
 */
export function claimTmpfsHome(user: RuntimeUser): void {
  if (!user.known || user.home === "/" || process.getuid?.() !== 0) return;
  try {
    const stat = fs.lstatSync(user.home);
    if (!stat.isDirectory() || stat.uid !== 0 || fs.statfsSync(user.home).type !== TMPFS_MAGIC || fs.readdirSync(user.home).length > 0) return;
    fs.lchownSync(user.home, user.uid, user.gid);
  } catch {
    // No home (the image has none): the workload runs without one, as before.
  }
}
