// The channel between the plugin and one container of a helper store, both ends as the
// binaries use them, over the real docker-credential-pass: one connection ever (the workload
// runs with the host user's uid and must find nothing to connect to), writes into the helper
// by compare-and-swap under the plugin's lock, and a rotated pair the helper refuses kept in
// memory and written once it takes it.
import net from "node:net";
import path from "node:path";
import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseBundle, type CaptureBundle } from "../../core/capture-bundle";
import { CredentialHelper } from "../../cli-plugin/stores/credential-helper";
import { CHANNEL_SOCKET_NAME, HelperChannel } from "../../cli-plugin/stores/helper-channel";
import { PluginChannel } from "../../entrypoint/channel";
import { ChannelStore } from "../../entrypoint/channel-store";
import { credentialsText, tempRoot, writeScript } from "../support/fixtures";
import { makePassStore, type PassStore } from "../support/pass-store";

let pass: PassStore;
let refuseWrites: string;
const helper = new CredentialHelper("pass", 20_000);
/** docker-credential-pass, but refusing to store while a flag file exists (a keychain locked at the wrong moment). */
const flaky = new CredentialHelper("flaky", 20_000);

beforeAll(() => {
  pass = makePassStore();
  refuseWrites = path.join(pass.dir, "refuse-writes");
  const bin = path.join(pass.dir, "bin");
  writeScript(bin, "docker-credential-flaky", `if [ "$1" = store ] && [ -e '${refuseWrites}' ]; then cat >/dev/null; echo 'keychain locked'; exit 1; fi\nexec docker-credential-pass "$@"\n`);
  Object.assign(process.env, pass.env, { PATH: `${bin}:${process.env.PATH}` });
});
afterAll(() => pass?.cleanup());

function bundle(generation: number, label: string): CaptureBundle {
  return { schema: 1, generation, files: { ".credentials.json": Buffer.from(credentialsText(label)).toString("base64") } };
}

async function open(profile: string, through = helper) {
  const channel = await HelperChannel.open(through, profile, path.join(tempRoot(), "locks", "helper.lock"));
  const socket = path.join(channel.dir, CHANNEL_SOCKET_NAME);
  return { channel, socket };
}

describe("the channel", () => {
  it("the first connection gets the store's capture; the socket and its directory are gone at once: a second connection finds nothing", async () => {
    await helper.store("first", JSON.stringify(bundle(4, "first")));
    const { channel, socket } = await open("first");
    expect(fs.statSync(channel.dir).mode & 0o777).toBe(0o700);
    const entrypoint = await PluginChannel.connect(socket);
    expect(entrypoint.hello?.generation).toBe(4);
    expect(fs.existsSync(channel.dir)).toBe(false);
    const second = await new Promise<string>((resolve) => net.createConnection(socket).on("connect", () => resolve("connected")).on("error", (e: NodeJS.ErrnoException) => resolve(e.code!)));
    expect(second).toBe("ENOENT");
    entrypoint.close();
    expect(await channel.close()).toBeNull();
  });

  it("commits go into the helper by compare-and-swap: a commit built on an older capture is refused and the newer one kept", async () => {
    const { channel, socket } = await open("cas");
    const entrypoint = await PluginChannel.connect(socket);
    expect(entrypoint.hello).toBeNull();
    expect(await entrypoint.lock()).toEqual({ type: "locked", id: 1, bundle: null });
    expect(await entrypoint.commit(bundle(1, "cas-1"), null)).toEqual({ type: "committed", id: 2 });
    await entrypoint.unlock();
    const stale = await entrypoint.commit(bundle(2, "cas-stale"), null);
    expect(stale).toMatchObject({ type: "conflict", bundle: { generation: 1 } });
    const second = bundle(2, "cas-2");
    expect(await entrypoint.commit(second, 1)).toMatchObject({ type: "committed" });
    expect(parseBundle((await helper.get("cas"))!)).toEqual(second);
    entrypoint.close();
    await channel.close();
  });

  it("a rotated pair the helper refuses: kept in memory, and written when the helper takes it again", async () => {
    await helper.store("rescue", JSON.stringify(bundle(1, "rescue-1")));
    const { channel, socket } = await open("rescue", flaky);
    const entrypoint = await PluginChannel.connect(socket);
    expect(await entrypoint.lock()).toMatchObject({ type: "locked", bundle: { generation: 1 } });
    // The keychain locks between the lock (whose test write passed) and the commit of the spent token's successor.
    fs.writeFileSync(refuseWrites, "");
    const rotated = bundle(2, "rescue-2");
    const answer = await entrypoint.commit(rotated, 1);
    expect(answer).toEqual({ type: "failed", id: 2, message: "docker-credential-flaky refused (keychain locked): unlock the keychain (or keyring) and try again" });
    // Meanwhile the pair it holds is the store's current one, for the next lock holder too.
    expect(await entrypoint.lock()).toMatchObject({ type: "failed" });
    fs.rmSync(refuseWrites);
    entrypoint.close();
    await channel.close();
    expect(parseBundle((await helper.get("rescue"))!)).toEqual(rotated);
  });

  it("a helper that cannot be written at the lock: the lock fails, so no refresh token is spent", async () => {
    await helper.store("preflight", JSON.stringify(bundle(1, "preflight-1")));
    const { channel, socket } = await open("preflight", flaky);
    const entrypoint = await PluginChannel.connect(socket);
    fs.writeFileSync(refuseWrites, "");
    try {
      expect(await entrypoint.lock()).toMatchObject({ type: "failed", message: expect.stringMatching(/keychain locked/) });
    } finally {
      fs.rmSync(refuseWrites);
    }
    entrypoint.close();
    await channel.close();
  });

  it("the entrypoint keeps its copy of the store only in memory: a mirror path that is not a tmpfs is refused before connecting", async () => {
    const { channel, socket } = await open("disk");
    // The checkout is on a disk (not a tmpfs) wherever the tests run.
    const onDisk = fs.mkdtempSync(path.join(__dirname, "../../.cache/claudeauth-mirror-"));
    try {
      const store = new ChannelStore("pass", socket, path.join(onDisk, "store"));
      await expect(store.ensure()).rejects.toThrow(`the working copy of helper:pass must be in memory: mount a tmpfs at ${path.join(onDisk, "store")} (docker claudeauth does)`);
      expect(fs.existsSync(channel.dir)).toBe(true); // nobody connected
    } finally {
      fs.rmSync(onDisk, { recursive: true, force: true });
      await channel.close();
    }
  });
});
