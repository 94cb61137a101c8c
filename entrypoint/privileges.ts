import type { RuntimeUser } from "./user";

// Dropping root, in the only safe order: supplementary groups, then gid, then uid
// (after setuid we could no longer change the others).
export function dropPrivileges(user: RuntimeUser): void {
  if (process.getuid!() !== 0) {
    if (process.getuid!() === user.uid) return;
    throw new Error(`cannot switch to uid ${user.uid}: the entrypoint is not running as root`);
  }
  if (user.known) process.initgroups!(user.name, user.gid);
  else process.setgroups!([user.gid]);
  process.setgid!(user.gid);
  process.setuid!(user.uid);
}

/** The environment a login shell for this user would have, on top of ours minus our own settings. */
export function userEnvironment(base: NodeJS.ProcessEnv, user: RuntimeUser, home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, HOME: home, USER: user.name, LOGNAME: user.name };
  for (const name of Object.keys(env)) if (name.startsWith("CLAUDEAUTH_")) delete env[name];
  return env;
}
