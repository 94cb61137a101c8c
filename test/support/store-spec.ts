import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { writeNewFile } from "../../core/safe-fs";
import { commit, ConflictError, InvalidCaptureError, type Fill, type Store } from "../../core/store";
import { claudeJsonText, credentialsText } from "./fixtures";

// The one spec every store backend passes (core/store.ts): the same file run against the
// directory backend, and against each other backend by its own test file:
//   describeStoreSpec("k8s", async () => openMyBackend(...));
// `open` gives a new, empty store each time.

const meta = { source: "spec", mode: "oauth" } as const;

/** A fill that writes these files (and dirs for "a/b" names), owned as the store asks. */
export function fillWith(store: Store, files: Record<string, string>): Fill {
  return (draft) => {
    for (const [name, text] of Object.entries(files)) {
      const file = path.join(draft, name);
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      if (store.owner && path.dirname(file) !== draft) fs.chownSync(path.dirname(file), store.owner.uid, store.owner.gid);
      writeNewFile(file, text, store.owner);
    }
  };
}

export function describeStoreSpec(backend: string, open: () => Promise<Store>): void {
  describe(`store spec: ${backend}`, () => {
    it("an empty store has no capture and no generations", async () => {
      const store = await open();
      expect(await store.readCurrent()).toBeNull();
      expect(await store.generations()).toEqual([]);
      expect(await store.hasRescue()).toBe(false);
    });

    it("commits number captures 1, 2 and the newest is current, files and all", async () => {
      const store = await open();
      const [a, b] = [credentialsText("spec-a"), credentialsText("spec-b")];
      expect((await commit(store, fillWith(store, { ".credentials.json": a }), meta)).generation).toBe(1);
      const second = await commit(store, fillWith(store, { ".credentials.json": b, ".claude.json": claudeJsonText("spec@example.com"), "commands/x.md": "x\n" }), meta);
      expect(second.generation).toBe(2);
      const current = (await store.readCurrent())!;
      expect(current.generation).toBe(2);
      expect(current.credentials).toEqual(JSON.parse(b));
      expect(current.claudeJson?.oauthAccount?.emailAddress).toBe("spec@example.com");
      expect(current.meta).toMatchObject({ schema: 1, source: "spec", mode: "oauth" });
      expect(fs.readFileSync(path.join(current.dir, "commands", "x.md"), "utf8")).toBe("x\n");
      expect((await store.generations())[0]).toBe(2);
    });

    it("a commit is a compare-and-swap on the generation: a stale writer changes nothing", async () => {
      const store = await open();
      await expect(commit(store, fillWith(store, { ".credentials.json": credentialsText("first") }), meta, { expectedGeneration: null })).resolves.toMatchObject({ generation: 1 });
      const kept = (await store.readCurrent())!.credentials;
      await expect(commit(store, fillWith(store, { ".credentials.json": credentialsText("stale") }), meta, { expectedGeneration: null })).rejects.toBeInstanceOf(ConflictError);
      await expect(commit(store, fillWith(store, { ".credentials.json": credentialsText("stale") }), meta, { expectedGeneration: 7 })).rejects.toBeInstanceOf(ConflictError);
      expect((await store.readCurrent())!.credentials).toEqual(kept);
      await expect(commit(store, fillWith(store, { ".credentials.json": credentialsText("next") }), meta, { expectedGeneration: 1 })).resolves.toMatchObject({ generation: 2 });
    });

    it("an invalid draft is refused and the current capture stays", async () => {
      const store = await open();
      const good = credentialsText("good");
      await commit(store, fillWith(store, { ".credentials.json": good }), meta);
      await expect(commit(store, fillWith(store, { ".credentials.json": "{}" }), meta)).rejects.toBeInstanceOf(InvalidCaptureError);
      await expect(commit(store, fillWith(store, { "settings.json": "{}" }), meta)).rejects.toThrow(/holds no credentials/);
      expect((await store.readCurrent())!.credentials).toEqual(JSON.parse(good));
      expect((await store.generations())[0]).toBe(1);
    });

    it("a draft identical to the current capture makes no new generation", async () => {
      const store = await open();
      const files = { ".credentials.json": credentialsText("same"), ".claude.json": claudeJsonText() };
      await commit(store, fillWith(store, files), meta);
      expect((await commit(store, fillWith(store, files), meta)).generation).toBe(1);
    });

    it("the lock is exclusive: a second holder waits for the first", async () => {
      const store = await open();
      await store.ensure();
      const order: string[] = [];
      let releaseFirst!: () => void;
      const firstHolds = new Promise<void>((resolve) => (releaseFirst = resolve));
      const first = store.withLock(async () => {
        order.push("first in");
        await firstHolds;
        order.push("first out");
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const second = store.withLock(async (locked) => {
        order.push("second in");
        locked.assertHeld();
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(order).toEqual(["first in"]);
      releaseFirst();
      await Promise.all([first, second]);
      expect(order).toEqual(["first in", "first out", "second in"]);
    });

    it("a rescue claimed under the lock is kept, seen without the lock, and removed by the holder", async () => {
      const store = await open();
      await commit(store, fillWith(store, { ".credentials.json": credentialsText("base") }), meta);
      await store.withLock(async (locked) => {
        const reserve = await locked.reserveRescue();
        await reserve.write('{"rescued":true}\n');
      });
      expect(await store.hasRescue()).toBe(true);
      await store.withLock(async (locked) => {
        expect(await locked.readRescue()).toBe('{"rescued":true}\n');
        await locked.removeRescue();
        (await locked.reserveRescue()).release();
      });
      expect(await store.hasRescue()).toBe(false);
    });

    it("remembers a rejected refresh token, and only that one", async () => {
      const store = await open();
      await store.ensure();
      await store.withLock(async (locked) => {
        await locked.markRejected("sk-ant-ort01-spec-rejected");
        expect(await locked.isRejected("sk-ant-ort01-spec-rejected")).toBe(true);
        expect(await locked.isRejected("sk-ant-ort01-spec-other")).toBe(false);
      });
      // Reports ask without the lock (status shows a dead refresh token).
      expect(await store.wasRejected("sk-ant-ort01-spec-rejected")).toBe(true);
      expect(await store.wasRejected("sk-ant-ort01-spec-other")).toBe(false);
    });

    it("logging out: a capture without credentials keeps the settings, and no older capture or rescue keeps a token", async () => {
      const store = await open();
      await commit(store, fillWith(store, { ".credentials.json": credentialsText("old") }), meta);
      await commit(store, fillWith(store, { ".credentials.json": credentialsText("new"), ".claude.json": claudeJsonText("out@example.com") }), meta);
      await store.withLock(async (locked) => {
        await (await locked.reserveRescue()).write('{"rescued":true}\n');
        const current = (await locked.readCurrent())!;
        const out = await locked.commit(fillWith(store, { ".claude.json": fs.readFileSync(path.join(current.dir, ".claude.json"), "utf8") }), { source: "logout", mode: "logged-out" });
        await locked.forgetBefore(out.generation);
      });
      const current = (await store.readCurrent())!;
      expect(current).toMatchObject({ generation: 3, credentials: null, longLivedToken: null, meta: { mode: "logged-out" } });
      expect(current.claudeJson?.oauthAccount?.emailAddress).toBe("out@example.com");
      expect(await store.generations()).toEqual([3]);
      expect(await store.hasRescue()).toBe(false);
    });

    it("remove deletes the store", async () => {
      const store = await open();
      await commit(store, fillWith(store, { ".credentials.json": credentialsText("gone") }), meta);
      await store.remove();
      expect(await store.readCurrent()).toBeNull();
      expect(await store.generations()).toEqual([]);
    });
  });
}
