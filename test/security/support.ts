import fs from "node:fs";
import path from "node:path";
import { serializeJson, type CredentialsFile } from "../../core/credentials";
import type { Owner } from "../../core/safe-fs";
import { claudeJsonText, seedStore } from "../support/fixtures";
import type { Sandbox } from "../support/docker";

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
