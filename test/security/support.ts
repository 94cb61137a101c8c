import fs from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { expect } from "vitest";
import { serializeJson, type CredentialsFile } from "../../core/credentials";
import type { Owner } from "../../core/safe-fs";
import { claudeJsonText, seedStore } from "../support/fixtures";
import type { Sandbox } from "../support/docker";
import { binary } from "../support/entrypoint";
import { tempRoot } from "../support/fixtures";
import { expectNoTokens } from "../support/tokens";

/** What no command may ever print: a Node stack frame, or "internal error". */
export const STACK_TRACE = /^\s+at |internal error/m;

/**
 * The compiled plugin for a command that needs no engine (status, doctor, profile rm of a
 * directory store): a home of its own, DOCKER_HOST pointing nowhere, optionally as `as`
 * (through setpriv, without groups). Its output holds no token and no stack trace.
 */
export async function offlinePlugin(args: string[], options: { home?: string; as?: Owner } = {}) {
  const home = options.home ?? tempRoot("claudeauth-sec-home-");
  const argv = options.as
    ? ["setpriv", "--reuid", String(options.as.uid), "--regid", String(options.as.gid), "--clear-groups", "--", binary("docker-claudeauth"), ...args]
    : [binary("docker-claudeauth"), ...args];
  const result = await execa(argv[0]!, argv.slice(1), {
    reject: false,
    env: { HOME: home, PATH: process.env.PATH, DOCKER_HOST: "unix:///nonexistent/docker.sock", TZ: "UTC" },
    extendEnv: false,
  });
  const out = { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
  expectNoTokens(out);
  expect(out.stdout + out.stderr).not.toMatch(STACK_TRACE);
  return out;
}

/** The sandbox's default store in its hub (~/.claude-hub/default), 0700 and owned by `owner`, with one login. */
export async function seedHubStore(sandbox: Sandbox, owner: Owner, credentials: CredentialsFile, email: string): Promise<string> {
  const store = path.join(sandbox.hub, "default");
  for (const dir of [sandbox.hub, store]) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.chownSync(dir, owner.uid, owner.gid);
  }
  await seedStore(store, { ".credentials.json": serializeJson(credentials), ".claude.json": claudeJsonText(email) }, owner);
  return store;
}
