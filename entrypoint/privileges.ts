import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { UserError } from "../core/errors";
import { resolveCommand } from "./exec";
import type { RuntimeUser } from "./user";

// Dropping root, two ways with one result: the user's supplementary groups (its own gid only
// for a uid /etc/passwd does not know), then its gid, then its uid (after setuid we could no
// longer change the others).

/** In this process, just before exec (exec mode: nothing of ours runs after the workload). */
export function dropPrivileges(user: RuntimeUser): void {
  if (alreadyUser(user)) return;
  if (user.known) process.initgroups!(user.name, user.gid);
  else process.setgroups!([user.gid]);
  process.setgid!(user.gid);
  process.setuid!(user.uid);
}

/**
 * For a child: argv that runs `command` as the user, through util-linux setpriv (which drops
 * and execs), taken from the image's system directories, never from a PATH the workload sets.
 */
export function commandAsUser(user: RuntimeUser, command: string[]): string[] {
  if (alreadyUser(user)) return command;
  let setpriv: string;
  try {
    setpriv = resolveCommand("setpriv", { PATH: "/usr/bin:/bin:/usr/sbin:/sbin" });
  } catch {
    throw new UserError("setpriv (util-linux) is not in this image: install util-linux (Debian, Ubuntu, Fedora and RHEL images have it)");
  }
  const groups = user.known ? ["--init-groups"] : ["--groups", String(user.gid)];
  return [setpriv, "--reuid", String(user.uid), "--regid", String(user.gid), ...groups, "--", ...command];
}

/** Not root: fine if we already are the user (docker run --user), else nothing can switch. */
function alreadyUser(user: RuntimeUser): boolean {
  if (process.getuid!() === 0) return false;
  if (process.getuid!() === user.uid) return true;
  throw new Error(`cannot switch to uid ${user.uid}: the entrypoint is not running as root`);
}

/**
 * The environment a login shell for this user would have, on top of ours minus our own settings;
 * for a uid that /etc/passwd does not know, also an identity (see passwdEntryEnvironment).
 */
export function userEnvironment(base: NodeJS.ProcessEnv, user: RuntimeUser, home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, HOME: home, USER: user.name, LOGNAME: user.name };
  for (const name of Object.keys(env)) if (name.startsWith("CLAUDEAUTH_")) delete env[name];
  return user.known ? env : { ...env, ...passwdEntryEnvironment(user, home, base.CLAUDEAUTH_WORK_DIR) };
}

const NSS_WRAPPER = ["/usr/lib/x86_64-linux-gnu/libnss_wrapper.so", "/usr/lib/aarch64-linux-gnu/libnss_wrapper.so"];

/**
 * ssh refuses to run for a uid without a passwd entry ("No user exists for uid"), and git,
 * whoami and `id -un` stumble: the host user's uid (docker claudeauth run's default) has none
 * in the image. Where the image has nss_wrapper (libnss-wrapper), the workload's lookups read
 * copies of /etc/passwd and /etc/group with an entry for it added. The copies live in a fresh
 * root-owned directory (mkdtemp: nothing the workload planted is followed) that it can read
 * but not change, on a tmpfs where there is one (a --read-only container has its work dir and
 * /dev/shm). Without the library, or without a writable place, nothing changes.
 */
function passwdEntryEnvironment(user: RuntimeUser, home: string, workDir: string | undefined): Record<string, string> {
  const library = NSS_WRAPPER.find((file) => fs.existsSync(file));
  if (!library) return {};
  let dir: string | undefined;
  for (const parent of [workDir, "/dev/shm", os.tmpdir()]) if (parent && !dir) dir = makeTempDir(parent);
  if (!dir) return {};
  fs.chmodSync(dir, 0o755);
  const shell = fs.existsSync("/bin/bash") ? "/bin/bash" : "/bin/sh";
  const withLine = (file: string, line: string) => {
    const text = fs.readFileSync(file, "utf8");
    return `${text}${text === "" || text.endsWith("\n") ? "" : "\n"}${line}\n`;
  };
  const files = {
    passwd: withLine("/etc/passwd", `${user.name}:x:${user.uid}:${user.gid}:claudeauth workload:${home}:${shell}`),
    group: withLine("/etc/group", `${user.name}:x:${user.gid}:`),
  };
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text, { flag: "wx", mode: 0o644 });
  return { LD_PRELOAD: library, NSS_WRAPPER_PASSWD: path.join(dir, "passwd"), NSS_WRAPPER_GROUP: path.join(dir, "group") };
}

function makeTempDir(parent: string): string | undefined {
  try {
    // Not claudeauth-*: that is how working copies are named in the same directory.
    return fs.mkdtempSync(path.join(parent, "nss-passwd-"));
  } catch {
    return undefined;
  }
}
