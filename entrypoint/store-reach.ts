import fs from "node:fs";
import path from "node:path";
import { UserError } from "../core/errors";
import { isWithin } from "../core/layout";
import type { RuntimeUser } from "./user";

// The workload must never be able to open the store. Our images mount it below a root-only
// directory (/var/lib/claudeauth, 0700); a user's own image, a Compose file, or an odd
// CLAUDEAUTH_STORE may not, and a second mount (a workspace that holds the store, or a
// directory of the store mounted elsewhere) shows the same files under another path. The
// store's files belong to the host user, often the workload's uid too, so only a directory on
// the way that the workload cannot pass keeps it out. Groups are counted as the workload's
// whenever they grant something: an over-cautious "no" costs a refusal with a fix, a wrong
// "yes" would cost the refresh token.

/** Refuses to go on when the runtime user could reach the store's contents by any path. */
export function refuseReachableStore(store: string, user: RuntimeUser): void {
  const root = path.resolve(store);
  const exposed = [root, ...otherViews(root)].find((view) => reachable(view, user.uid));
  if (!exposed) return;
  if (exposed === root) {
    const parent = path.dirname(root);
    throw new UserError(
      `the store at ${store} is reachable by the workload (uid ${user.uid}): make its parent directory root's and 0700 ` +
        `(in a Dockerfile: RUN install -d -m 0700 -o root -g root ${parent}) or mount the store below such a directory`,
    );
  }
  throw new UserError(
    `the store's files are also mounted at ${exposed}, where the workload (uid ${user.uid}) can read them: ` +
      `mount a workspace or volume that neither holds the store nor lies inside it`,
  );
}

/** Refuses to go on when the runtime user could read a store kept in one file (a Swarm secret). */
export function refuseReadableFile(file: string, user: RuntimeUser, fix: string): void {
  if (reachable(path.resolve(file), user.uid, 0o4)) throw new UserError(`the store ${file} is readable by the workload (uid ${user.uid}): ${fix}`);
}

type Mount = { device: string; root: string; point: string };

/**
 * Where else the store's files show: mounts of the same file system whose root holds the
 * store (a parent directory bind-mounted as a workspace) or lies inside it (one of its
 * directories mounted elsewhere). From /proc/self/mountinfo; none where it cannot be read.
 */
function otherViews(store: string): string[] {
  const mounts = readMountInfo();
  const home = mounts.filter((m) => isWithin(store, m.point)).sort((a, b) => b.point.length - a.point.length)[0];
  if (!home) return [];
  const inFs = path.join(home.root, path.relative(home.point, store));
  return mounts
    .filter((m) => m.device === home.device && m !== home)
    .flatMap((m) => {
      if (isWithin(inFs, m.root)) return [path.join(m.point, path.relative(m.root, inFs))];
      if (isWithin(m.root, inFs)) return [m.point];
      return [];
    })
    .filter((view) => view !== store);
}

function readMountInfo(): Mount[] {
  let text: string;
  try {
    text = fs.readFileSync("/proc/self/mountinfo", "utf8");
  } catch {
    return [];
  }
  const unescape = (field: string) => field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
  return text.split("\n").filter(Boolean).map((line) => {
    const fields = line.split(" ");
    return { device: fields[2]!, root: unescape(fields[3]!), point: unescape(fields[4]!) };
  });
}

/** Whether `uid` can pass every directory down to `target` and do `bits` to it (list a directory: r-x). */
function reachable(target: string, uid: number, bits = 0o5): boolean {
  const dirs: string[] = [];
  for (let dir = target; ; dir = path.dirname(dir)) {
    dirs.unshift(dir);
    if (dir === path.dirname(dir)) break;
  }
  return dirs.every((dir) => {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(dir);
    } catch {
      return false;
    }
    return allows(stat, uid, dir === target ? bits : 0o1);
  });
}

function allows(stat: fs.Stats, uid: number, bits: number): boolean {
  if (stat.uid === uid) return ((stat.mode >> 6) & bits) === bits;
  return ((stat.mode >> 3) & bits) === bits || (stat.mode & bits) === bits;
}
