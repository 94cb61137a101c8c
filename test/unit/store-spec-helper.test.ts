import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll } from "vitest";
import { CredentialHelper } from "../../cli-plugin/stores/credential-helper";
import { CHANNEL_SOCKET_NAME, HelperChannel } from "../../cli-plugin/stores/helper-channel";
import { ChannelStore } from "../../entrypoint/channel-store";
import { describeStoreSpec } from "../support/store-spec";
import { tempRoot } from "../support/fixtures";
import { makePassStore, type PassStore } from "../support/pass-store";

// The credential-helper backend against the store spec, both ends as the binaries use them:
// the entrypoint's ChannelStore (its copy on a tmpfs, /dev/shm here) talking to the plugin's
// HelperChannel, which keeps the store in the real docker-credential-pass.
let pass: PassStore;
const channels: HelperChannel[] = [];
const mirrors: string[] = [];
let count = 0;

beforeAll(() => {
  pass = makePassStore();
  Object.assign(process.env, pass.env);
});
afterAll(async () => {
  for (const channel of channels) await channel.close();
  for (const mirror of mirrors) fs.rmSync(mirror, { recursive: true, force: true });
  pass?.cleanup();
});

describeStoreSpec("credential helper (pass)", async () => {
  const channel = await HelperChannel.open(new CredentialHelper("pass"), `spec-${++count}`, path.join(tempRoot(), "locks", "helper.lock"));
  channels.push(channel);
  const mirror = fs.mkdtempSync(path.join("/dev/shm", "claudeauth-spec-"));
  mirrors.push(mirror);
  return new ChannelStore("pass", path.join(channel.dir, CHANNEL_SOCKET_NAME), path.join(mirror, "store"));
});
