import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { writeNewFile } from "../../core/safe-fs";
import { ConflictError, InvalidCaptureError, copyCaptureInto, readCapture, readCurrentIfValid, commit } from "../../core/store";
import { DirStore } from "../../core/store-dir";
import { UserError } from "../../core/errors";
import { acquireLock, LockLostError } from "../../core/lock";
import { claudeJsonText, credentialsText, seedStore, snapshotTree, tempRoot } from "../support/fixtures";
import { STORE_OWNER } from "../support/test-user";

// The store: numbered captures, the highest is current; a capture is built in a temp dir,
// validated, fsynced and renamed, so the store is valid at every instant.
const asRoot = process.getuid?.() === 0;
const meta = { source: "test", mode: "oauth" } as const;

function newStore(owner = asRoot ? STORE_OWNER : undefined) {
  const root = tempRoot();
  return new DirStore(path.join(root, "store"), owner);
}

// A fill writes its files for the store owner, as every real caller does.
const fillWith = (files: Record<string, string>, owner = asRoot ? STORE_OWNER : undefined) => (draft: string) => {
  for (const [name, text] of Object.entries(files)) writeNewFile(path.join(draft, name), text, owner);
};

afterEach(() => vi.restoreAllMocks());

describe("Store.commit", () => {
  it("an empty store has no current capture", async () => {
    const store = newStore();
    expect(store.exists()).toBe(false);
    expect(store.readCurrentSync()).toBeNull();
    await store.ensure();
    expect(store.exists()).toBe(true);
    expect(store.currentGeneration()).toBeNull();
    expect(store.readCurrentSync()).toBeNull();
  });

  it("numbers captures 1, 2, 3 and the highest is current", async () => {
    const store = newStore();
    const a = credentialsText("a");
    const b = credentialsText("b");
    expect((await commit(store, fillWith({ ".credentials.json": a }), meta)).generation).toBe(1);
    const second = await commit(store, fillWith({ ".credentials.json": b, ".claude.json": claudeJsonText() }), meta);
    expect(second.generation).toBe(2);
    const current = store.readCurrentSync()!;
    expect(current.generation).toBe(2);
    expect(current.dir).toBe(path.join(store.root, "captures", "00000002"));
    expect(current.credentials).toEqual(JSON.parse(b));
    expect(current.claudeJson?.hasCompletedOnboarding).toBe(true);
    expect(current.meta).toMatchObject({ schema: 1, source: "test", mode: "oauth" });
    expect(Date.parse(current.meta.capturedAt)).toBeGreaterThan(Date.now() - 60_000);
  });

  it.runIf(asRoot)("makes dirs 0700 and files 0600, all owned by the store owner", async () => {
    const store = newStore();
    await commit(store, fillWith({ ".credentials.json": credentialsText("modes"), ".claude.json": claudeJsonText() }), meta);
    const entries = [{ path: ".", kind: "dir", ...pick(fs.statSync(store.root)) }, ...snapshotTree(store.root)];
    expect(entries.length).toBeGreaterThan(3);
    for (const entry of entries) {
      expect(entry.mode, entry.path).toBe(entry.kind === "dir" ? 0o700 : 0o600);
      expect([entry.uid, entry.gid], entry.path).toEqual([STORE_OWNER.uid, STORE_OWNER.gid]);
    }
  });

  it.each([
    ["no credentials at all", {}, /holds no credentials/],
    ["empty credentials", { ".credentials.json": "" }, /\.credentials\.json is empty/],
    ["truncated credentials", { ".credentials.json": credentialsText("t").slice(0, 40) }, /not valid JSON/],
    ["blanked credentials", { ".credentials.json": JSON.stringify({ claudeAiOauth: { accessToken: "", refreshToken: "", expiresAt: 0 } }) }, /blanked/],
    ["a broken .claude.json", { ".credentials.json": credentialsText("ok"), ".claude.json": "{" }, /\.claude\.json is not valid JSON/],
  ])("refuses a capture with %s: the previous one stays current, no temp dir is left", async (_what, files, problem) => {
    const store = newStore();
    const good = credentialsText("good");
    await commit(store, fillWith({ ".credentials.json": good }), meta);
    const before = snapshotTree(store.root);
    await expect(commit(store, fillWith(files as Record<string, string>), meta)).rejects.toThrow(problem);
    await expect(commit(store, fillWith(files as Record<string, string>), meta)).rejects.toBeInstanceOf(InvalidCaptureError);
    expect(store.readCurrentSync()!.credentials).toEqual(JSON.parse(good));
    expect(snapshotTree(store.root)).toEqual(before);
  });

  it("a fill that throws changes nothing", async () => {
    const store = newStore();
    await commit(store, fillWith({ ".credentials.json": credentialsText("keep") }), meta);
    const before = snapshotTree(store.root);
    await expect(
      commit(store, () => {
        throw new Error("disk on fire");
      }, meta),
    ).rejects.toThrow("disk on fire");
    expect(snapshotTree(store.root)).toEqual(before);
  });

  it("accepts a capture that holds only a long-lived token", async () => {
    const store = newStore();
    const capture = await commit(store, fillWith({ "oauth-token": "sk-ant-oat01-longlivedtoken-abcdefgh\n" }), { source: "setup-token", mode: "long-lived" });
    expect(capture.credentials).toBeNull();
    expect(capture.longLivedToken).toBe("sk-ant-oat01-longlivedtoken-abcdefgh");
    expect(store.readCurrentSync()!.meta.mode).toBe("long-lived");
  });

  it("does not store an unchanged login again: an identical draft leaves the current capture (and the kept history) alone", async () => {
    const store = newStore();
    const a = credentialsText("same");
    await commit(store, fillWith({ ".credentials.json": credentialsText("older") }), meta);
    const first = await commit(store, fillWith({ ".credentials.json": a, "CLAUDE.md": "x" }), meta);
    const before = snapshotTree(store.root);
    const again = await commit(store, fillWith({ ".credentials.json": a, "CLAUDE.md": "x" }), meta);
    expect(again.generation).toBe(first.generation);
    expect(snapshotTree(store.root)).toEqual(before);
    const changed = await commit(store, fillWith({ ".credentials.json": a, "CLAUDE.md": "y" }), meta);
    expect(changed.generation).toBe(first.generation + 1);
  });

  it("keeps the last three captures and removes older ones", async () => {
    const store = newStore();
    for (let i = 1; i <= 6; i++) await commit(store, fillWith({ ".credentials.json": credentialsText(`g${i}`) }), meta);
    expect(fs.readdirSync(path.join(store.root, "captures")).sort()).toEqual(["00000004", "00000005", "00000006"]);
    expect(store.currentGeneration()).toBe(6);
  });

  it("removes temp dirs a dead writer left behind, on the next commit", async () => {
    const store = newStore();
    await commit(store, fillWith({ ".credentials.json": credentialsText("first") }), meta);
    const captures = path.join(store.root, "captures");
    for (const name of [".tmp-99999-1700000000000", ".tmp-12345-1"]) {
      fs.mkdirSync(path.join(captures, name));
      fs.writeFileSync(path.join(captures, name, ".credentials.json"), '{"claudeAiOauth":{"acc');
    }
    expect(store.readCurrentSync()!.generation).toBe(1); // leftovers are invisible to readers
    await commit(store, fillWith({ ".credentials.json": credentialsText("second") }), meta);
    expect(fs.readdirSync(captures).sort()).toEqual(["00000001", "00000002"]);
  });

  it("ignores stray names in captures/ (only eight-digit names are generations)", async () => {
    const store = newStore();
    await commit(store, fillWith({ ".credentials.json": credentialsText("one") }), meta);
    fs.mkdirSync(path.join(store.root, "captures", "99999999x"));
    fs.mkdirSync(path.join(store.root, "captures", "123"));
    expect(store.currentGeneration()).toBe(1);
  });

  it("refuses a store path that is a file", async () => {
    const root = tempRoot();
    fs.writeFileSync(path.join(root, "store"), "");
    await expect(new DirStore(path.join(root, "store")).ensure()).rejects.toThrow(/is not a directory/);
  });
});

describe("compare-and-swap", () => {
  it("commits when the store is still at the expected generation", async () => {
    const store = newStore();
    const first = await commit(store, fillWith({ ".credentials.json": credentialsText("a") }), meta);
    const next = await commit(store, fillWith({ ".credentials.json": credentialsText("b") }), meta, { expectedGeneration: first.generation });
    expect(next.generation).toBe(2);
  });

  it("throws ConflictError and changes nothing when another writer committed in between", async () => {
    const store = newStore();
    const base = await commit(store, fillWith({ ".credentials.json": credentialsText("base") }), meta);
    const theirs = credentialsText("theirs");
    await commit(store, fillWith({ ".credentials.json": theirs }), meta);
    const before = snapshotTree(store.root);
    const fill = vi.fn(fillWith({ ".credentials.json": credentialsText("ours") }));
    await expect(commit(store, fill, meta, { expectedGeneration: base.generation })).rejects.toBeInstanceOf(ConflictError);
    expect(fill).not.toHaveBeenCalled();
    expect(snapshotTree(store.root)).toEqual(before);
    expect(store.readCurrentSync()!.credentials).toEqual(JSON.parse(theirs));
  });

  it("expecting an empty store (null) conflicts once something was committed", async () => {
    const store = newStore();
    await commit(store, fillWith({ ".credentials.json": credentialsText("x") }), meta, { expectedGeneration: null });
    await expect(commit(store, fillWith({ ".credentials.json": credentialsText("y") }), meta, { expectedGeneration: null })).rejects.toThrow(
      /moved from capture null to 1/,
    );
  });

  it("waits for the store lock and commits after its holder releases it", async () => {
    const store = newStore();
    store.ensure();
    const holder = await acquireLock(store.lockDir);
    const pending = commit(store, fillWith({ ".credentials.json": credentialsText("after") }), meta, { lock: { timeoutMs: 5_000 } });
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(store.currentGeneration()).toBeNull();
    holder.release();
    expect((await pending).generation).toBe(1);
    expect(fs.existsSync(store.lockDir)).toBe(false);
  });
});

describe("readCurrent while a writer prunes", () => {
  it("reads the newest capture when the one it listed is pruned under it", async () => {
    const store = newStore();
    for (let i = 1; i <= 3; i++) await commit(store, fillWith({ ".credentials.json": credentialsText(`r${i}`) }), meta);
    const newest = credentialsText("newest");
    // A second writer (another process, in real life) commits three captures between our
    // listing the generations and our reading the files of capture 3: its prune removes 3.
    const writer = new DirStore(store.root, store.owner);
    await writer.withLock(async (locked) => {
      const realLstat = fs.lstatSync;
      let raced = false;
      vi.spyOn(fs, "lstatSync").mockImplementation(((file: fs.PathLike, options?: fs.StatSyncOptions) => {
        if (!raced && String(file).endsWith(path.join("00000003", ".credentials.json"))) {
          raced = true;
          // The directory backend commits synchronously: the three captures are in place when commit() returns its promise.
          for (let i = 0; i < 3; i++) void locked.commit(fillWith({ ".credentials.json": i === 2 ? newest : credentialsText(`w${i}`) }), meta);
          expect(fs.existsSync(path.join(store.root, "captures", "00000003"))).toBe(false);
        }
        return realLstat(file, options as fs.StatSyncOptions);
      }) as typeof fs.lstatSync);
      const capture = store.readCurrentSync();
      expect(raced).toBe(true);
      expect(capture?.generation).toBe(6);
      expect(capture?.credentials).toEqual(JSON.parse(newest));
    });
  });

  it("does not trust a read of a capture that was being deleted while it read (a half-removed dir can look valid)", async () => {
    const store = newStore();
    // A capture holding both OAuth credentials and a long-lived token: with its
    // .credentials.json already deleted by a prune it still parses, as a different capture.
    for (let i = 1; i <= 3; i++) {
      await commit(store, fillWith({ ".credentials.json": credentialsText(`h${i}`), "oauth-token": `sk-ant-oat01-longlived${i}-abcdefgh\n` }), meta);
    }
    const captures = path.join(store.root, "captures");
    const newest = credentialsText("newest3");
    const realLstat = fs.lstatSync;
    let raced = false;
    vi.spyOn(fs, "lstatSync").mockImplementation(((file: fs.PathLike, options?: fs.StatSyncOptions) => {
      if (!raced && String(file).endsWith(path.join("00000003", ".credentials.json"))) {
        raced = true;
        // A writer has committed 4, 5, 6 and its prune has begun removing 3.
        for (const generation of ["00000004", "00000005", "00000006"]) {
          fs.mkdirSync(path.join(captures, generation));
          fs.writeFileSync(path.join(captures, generation, ".credentials.json"), generation === "00000006" ? newest : credentialsText(generation));
        }
        fs.rmSync(path.join(captures, "00000003", ".credentials.json"));
      }
      return realLstat(file, options as fs.StatSyncOptions);
    }) as typeof fs.lstatSync);
    const capture = store.readCurrentSync();
    expect(raced).toBe(true);
    expect(capture?.generation).toBe(6);
    expect(capture?.credentials).toEqual(JSON.parse(newest));
  });

  it("reads the newest capture when the one it listed vanishes between listing and reading", async () => {
    const store = newStore();
    for (let i = 1; i <= 3; i++) await commit(store, fillWith({ ".credentials.json": credentialsText(`v${i}`) }), meta);
    const writer = new DirStore(store.root, store.owner);
    const newest = credentialsText("newest2");
    await writer.withLock(async (locked) => {
      const realReaddir = fs.readdirSync;
      let listings = 0;
      vi.spyOn(fs, "readdirSync").mockImplementation(((dir: fs.PathLike, options?: unknown) => {
        const names = realReaddir(dir, options as undefined);
        if (String(dir).endsWith("captures") && ++listings === 1) {
          vi.mocked(fs.readdirSync).mockRestore();
          for (let i = 0; i < 3; i++) void locked.commit(fillWith({ ".credentials.json": i === 2 ? newest : credentialsText(`x${i}`) }), meta);
        }
        return names;
      }) as typeof fs.readdirSync);
      const capture = store.readCurrentSync();
      expect(capture?.generation).toBe(6);
      expect(capture?.credentials).toEqual(JSON.parse(newest));
    });
  });
});

describe("readCapture", () => {
  it("reads a capture dir without metadata as an oauth capture of unknown source", () => {
    const root = tempRoot();
    fs.writeFileSync(path.join(root, ".credentials.json"), credentialsText("bare"));
    expect(readCapture(root, 7)).toMatchObject({ generation: 7, meta: { source: "unknown", mode: "oauth" }, claudeJson: null, longLivedToken: null });
  });

  it("refuses a credentials file that is a symlink", () => {
    const root = tempRoot();
    fs.writeFileSync(path.join(root, "real.json"), credentialsText("linked"));
    fs.symlinkSync(path.join(root, "real.json"), path.join(root, ".credentials.json"));
    expect(() => readCapture(root, 1)).toThrow(/symlink/);
  });
});

describe("seedStore (test helper) goes through the real commit", () => {
  it("gives a current capture with the files asked for", async () => {
    const root = tempRoot();
    const capture = await seedStore(path.join(root, "store"), { ".credentials.json": credentialsText("seed"), "commands/x.md": "x" });
    expect(capture.generation).toBe(1);
    expect(fs.readFileSync(path.join(capture.dir, "commands/x.md"), "utf8")).toBe("x");
  });
});

function pick(stat: fs.Stats) {
  return { mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid };
}

describe("Store.ensure: a store that cannot be used is a one-line user error with the fix", () => {
  it("a missing parent directory", async () => {
    const root = tempRoot();
    const store = new DirStore(path.join(root, "missing", "store"));
    await expect(store.ensure()).rejects.toThrow(UserError);
    await expect(store.ensure()).rejects.toThrow(
      `cannot use the store at ${store.root}: ENOENT: no such file or directory, mkdir '${store.root}'; create its parent directory or mount the store there`,
    );
  });
});

describe("a capture that no longer reads", () => {
  const breakCredentials = (store: DirStore, generation: number) => {
    const file = path.join(store.root, "captures", String(generation).padStart(8, "0"), ".credentials.json");
    fs.writeFileSync(file, fs.readFileSync(file, "utf8").slice(0, 30));
  };

  it("readCurrent falls back to the newest capture whose credentials read, says so once on stderr, and lists what it skipped", async () => {
    const store = newStore();
    const good = credentialsText("good");
    await commit(store, fillWith({ ".credentials.json": good }), meta);
    await commit(store, fillWith({ ".credentials.json": credentialsText("broken") }), meta);
    breakCredentials(store, 2);
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const capture = store.readCurrentSync()!;
    store.readCurrentSync();
    expect(capture.generation).toBe(1);
    expect(capture.credentials).toEqual(JSON.parse(good));
    expect(capture.skipped).toEqual([{ generation: 2, problem: ".credentials.json is not valid JSON (truncated or corrupt)" }]);
    const warnings = stderr.mock.calls.map(([text]) => String(text));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/warn: .*capture 2 is unusable .*; using the earlier capture 1; .*docker claudeauth setup/);
  });

  it("a broken .claude.json or claudeauth.json never causes a fallback (the older refresh token may be spent): the file is ignored and never copied on", async () => {
    const store = newStore();
    await commit(store, fillWith({ ".credentials.json": credentialsText("older") }), meta);
    const newer = credentialsText("newer");
    const capture = await commit(store, fillWith({ ".credentials.json": newer, ".claude.json": claudeJsonText(), "CLAUDE.md": "rules" }), meta);
    fs.writeFileSync(path.join(capture.dir, ".claude.json"), "{");
    fs.writeFileSync(path.join(capture.dir, "claudeauth.json"), "");
    vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const current = store.readCurrentSync()!;
    expect(current.generation).toBe(2);
    expect(current.credentials).toEqual(JSON.parse(newer));
    expect(current.claudeJson).toBeNull();
    expect(current.meta.source).toBe("unknown");
    expect(current.ignored.map((i) => i.file).sort()).toEqual([".claude.json", "claudeauth.json"]);
    const draft = tempRoot();
    copyCaptureInto(current, path.join(draft), undefined);
    expect(fs.readdirSync(draft).sort()).toEqual([".credentials.json", "CLAUDE.md"]);
  });

  it("when nothing reads: a one-line user error naming the newest problem and the fix; the CAS compares with what readers get", async () => {
    const store = newStore();
    const first = await commit(store, fillWith({ ".credentials.json": credentialsText("a") }), meta);
    await commit(store, fillWith({ ".credentials.json": credentialsText("b") }), meta);
    breakCredentials(store, 2);
    vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    // A writer that read the fallback (capture 1) may commit against it.
    const next = await commit(store, fillWith({ ".credentials.json": credentialsText("c") }), meta, { expectedGeneration: first.generation });
    expect(next.generation).toBe(3);
    breakCredentials(store, 1);
    breakCredentials(store, 3);
    const error = (() => {
      try {
        store.readCurrentSync();
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InvalidCaptureError);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toBe(
      `the store at ${store.root} holds no usable capture: capture 3 is unusable (.credentials.json is not valid JSON (truncated or corrupt)); log in again with "docker claudeauth setup"`,
    );
    expect(await readCurrentIfValid(store)).toBeNull();
  });
});

describe("commits only under a lock still held", () => {
  it("a draft whose lock was taken over commits nothing", async () => {
    const store = newStore();
    await commit(store, fillWith({ ".credentials.json": credentialsText("kept") }), meta);
    await store.withLock(async (locked) => {
      const draft = await locked.prepare(fillWith({ ".credentials.json": credentialsText("late") }), meta);
      fs.rmSync(store.lockDir, { recursive: true }); // taken over meanwhile
      await expect(draft.commit()).rejects.toThrow(/lost the store lock/);
      await expect(locked.commit(fillWith({ ".credentials.json": credentialsText("x") }), meta)).rejects.toThrow(LockLostError);
    });
    expect(store.currentGeneration()).toBe(1);
    expect(fs.readdirSync(path.join(store.root, "captures"))).toEqual(["00000001"]);
  });
});

describe("rescue and rejected tokens", () => {
  it("a rescue reserve is claimed before anything is spent and turns into rescue.json in place; release gives the room back", async () => {
    const store = newStore();
    await store.ensure();
    await store.withLock(async (locked) => {
      const reserve = await locked.reserveRescue();
      const reserved = fs.readdirSync(store.root).filter((n) => n.startsWith(".rescue.reserve"));
      expect(reserved).toHaveLength(1);
      expect(fs.statSync(path.join(store.root, reserved[0]!)).size).toBe(64 * 1024);
      await reserve.write('{"rescued":true}\n');
      expect(await locked.readRescue()).toBe('{"rescued":true}\n');
      expect(await store.hasRescue()).toBe(true);
      expect(fs.readdirSync(store.root).filter((n) => n.startsWith(".rescue.reserve"))).toEqual([]);
      await locked.removeRescue();
      expect(await locked.readRescue()).toBeNull();
      (await locked.reserveRescue()).release();
    });
    expect(fs.readdirSync(store.root).sort()).toEqual(["captures"]);
  });

  it("remembers rejected refresh tokens by digest only, the last 16", async () => {
    const store = newStore();
    await store.ensure();
    const tokens = Array.from({ length: 17 }, (_, i) => `sk-ant-ort01-rejected-${i}-abcdefgh`);
    await store.withLock(async (locked) => {
      for (const token of tokens) await locked.markRejected(token);
      expect(await locked.isRejected(tokens[0]!)).toBe(false);
      for (const token of tokens.slice(1)) expect(await locked.isRejected(token)).toBe(true);
    });
    expect(fs.readFileSync(path.join(store.root, "rejected"), "utf8")).not.toContain("sk-ant");
  });

  it("copies a 13.5 MB .claude.json on (the auth files' bound, not a config file's)", async () => {
    const store = newStore();
    const big = claudeJsonText("big@example.com", { projects: { p: { history: "x".repeat(13.5 * 1024 * 1024) } } });
    const capture = await commit(store, fillWith({ ".credentials.json": credentialsText("big"), ".claude.json": big }), meta);
    const draft = tempRoot();
    copyCaptureInto(capture, draft, undefined);
    expect(fs.readFileSync(path.join(draft, ".claude.json"), "utf8")).toBe(big);
  });
});
