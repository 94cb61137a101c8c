import fs from "node:fs";
import { errorMessage } from "../core/errors";
import { log } from "../core/output";
import { childProcess } from "./child";
import { commandAsUser } from "./privileges";
import { endProcessesOf, ownsPidNamespace } from "./reap";
import type { RuntimeUser } from "./user";
import type { WorkingCopy } from "./working-copy";

// After the workload: end what it left running, then remove its working copy without root
// ever walking a tree the workload could have rearranged.

/** Ends every process of the runtime uid; false if some would not end (then nothing may be read). */
export function endLeftovers(user: RuntimeUser): boolean {
  // On a host the uid may have other processes than ours, and as the same uid we would end ourselves.
  if (!ownsPidNamespace() || user.uid === process.getuid!()) return true;
  const { ended, remaining } = endProcessesOf(user.uid);
  if (ended > 0) log.info(`ended ${ended} process${ended === 1 ? "" : "es"} the workload left running`);
  if (remaining === 0) return true;
  log.warn(`${remaining} processes of uid ${user.uid} would not end; the run's files are left unread`);
  return false;
}

/**
 * The runtime user empties its config dir (find -delete never follows a link, and as the user
 * it can only harm the user's own files), then root removes the two empty dirs in its own
 * parent. A container's tmpfs would go anyway; a host's work dir must not fill up.
 */
export function removeWorkingCopy(copy: WorkingCopy, user: RuntimeUser): void {
  const [file, ...args] = commandAsUser(user, ["find", copy.dir, "-mindepth", "1", "-delete"]);
  childProcess().spawnSync(file!, args, { stdio: ["ignore", "ignore", "inherit"], env: { PATH: "/usr/bin:/bin" } });
  try {
    fs.rmdirSync(copy.dir);
    fs.rmdirSync(copy.parent);
  } catch (error) {
    log.warn(`could not remove the working copy ${copy.parent}: ${errorMessage(error)}`);
  }
}
