import { execFileSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { copyEntry, DEFAULT_LIMITS } from "../../core/safe-copy";
import { chownTree, isSafeName, readRegularFile, replaceFileAtomically, UnsafeFileError, writeNewFile } from "../../core/safe-fs";
import { snapshotTree, tempRoot, writeTree } from "../support/fixtures";
import { STORE_OWNER } from "../support/test-user";

// The copy that feeds the store and the working copies: an allow-listed tree, where
// anything unexpected is skipped with a reason and never followed or opened.
const asRoot = process.getuid?.() === 0;
const mine = { uid: process.getuid!(), gid: process.getgid!() };

function setup() {
  const root = tempRoot();
  const source = path.join(root, "source");
  const outside = path.join(root, "outside");
  fs.mkdirSync(source);
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, "secret.txt"), "OUTSIDE-SECRET\n");
  return { root, source, outside, target: path.join(root, "target") };
}

function allContents(dir: string): string {
  return snapshotTree(dir)
    .filter((e) => e.kind === "file")
    .map((e) => fs.readFileSync(path.join(dir, e.path), "utf8"))
    .join("\n");
}

describe("copyEntry", () => {
  it("copies a tree of regular files: dirs 0700, files 0600, contents intact", () => {
    const { source, target } = setup();
    writeTree(source, { "a.md": "A", "sub/b.md": "B", "sub/deeper/c.json": "{}" }, mine);
    fs.chmodSync(path.join(source, "a.md"), 0o644);
    const result = copyEntry(source, target);
    expect(result.skipped).toEqual([]);
    expect(snapshotTree(target).map((e) => [e.path, e.kind, e.mode.toString(8)])).toEqual([
      ["a.md", "file", "600"],
      ["sub", "dir", "700"],
      ["sub/b.md", "file", "600"],
      ["sub/deeper", "dir", "700"],
      ["sub/deeper/c.json", "file", "600"],
    ]);
    expect(fs.statSync(target).mode & 0o777).toBe(0o700);
    expect(fs.readFileSync(path.join(target, "sub/deeper/c.json"), "utf8")).toBe("{}");
  });

  it.runIf(asRoot)("gives every copied entry to the owner asked for", () => {
    const { source, target } = setup();
    writeTree(source, { "a.md": "A", "sub/b.md": "B" }, mine);
    copyEntry(source, target, { owner: STORE_OWNER });
    for (const entry of [{ uid: fs.statSync(target).uid, gid: fs.statSync(target).gid }, ...snapshotTree(target)]) {
      expect([entry.uid, entry.gid]).toEqual([STORE_OWNER.uid, STORE_OWNER.gid]);
    }
  });

  it("skips a symlink to a file outside and never copies what it points to", () => {
    const { source, outside, target } = setup();
    writeTree(source, { "ok.md": "fine" }, mine);
    fs.symlinkSync(path.join(outside, "secret.txt"), path.join(source, "evil.md"));
    const result = copyEntry(source, target);
    expect(result.skipped).toEqual([{ path: path.join(source, "evil.md"), reason: "is a symlink (not followed)" }]);
    expect(fs.existsSync(path.join(target, "evil.md"))).toBe(false);
    expect(allContents(target)).not.toContain("OUTSIDE-SECRET");
  });

  it("skips a symlink to a directory outside (not descended into)", () => {
    const { source, outside, target } = setup();
    fs.symlinkSync(outside, path.join(source, "agents"));
    const result = copyEntry(source, target);
    expect(result.skipped.map((s) => s.reason)).toEqual(["is a symlink (not followed)"]);
    expect(snapshotTree(target)).toEqual([]);
  });

  it("skips the entry itself when it is a symlink (e.g. ~/.claude/settings.json -> /etc/shadow)", () => {
    const { source, outside, target } = setup();
    const link = path.join(source, "settings.json");
    fs.symlinkSync(path.join(outside, "secret.txt"), link);
    const result = copyEntry(link, target);
    expect(result).toEqual({ copied: [], skipped: [{ path: link, reason: "is a symlink (not followed)" }] });
    expect(fs.existsSync(target)).toBe(false);
  });

  it("skips a FIFO without opening it (no hang, even with no writer)", () => {
    const { source, target } = setup();
    execFileSync("mkfifo", [path.join(source, "pipe.md")]);
    writeTree(source, { "after.md": "still copied" }, mine);
    const started = Date.now();
    const result = copyEntry(source, target);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(result.skipped).toEqual([{ path: path.join(source, "pipe.md"), reason: "is a FIFO" }]);
    expect(fs.readFileSync(path.join(target, "after.md"), "utf8")).toBe("still copied");
  });

  it("skips a socket and a device", async () => {
    const { root, source, target } = setup();
    const socketPath = path.join(source, "agent.sock");
    const server = net.createServer().listen(socketPath);
    await new Promise((resolve) => server.once("listening", resolve));
    try {
      expect(copyEntry(source, target).skipped).toEqual([{ path: socketPath, reason: "is a socket" }]);
    } finally {
      server.close();
    }
    expect(copyEntry("/dev/null", path.join(root, "null")).skipped).toEqual([{ path: "/dev/null", reason: "is a device" }]);
  });

  it("skips a file larger than the limit and copies the rest", () => {
    const { source, target } = setup();
    writeTree(source, { "big.bin": Buffer.alloc(4096, 1), "small.md": "s" }, mine);
    const result = copyEntry(source, target, { limits: { ...DEFAULT_LIMITS, maxFileBytes: 1024 } });
    expect(result.skipped).toEqual([{ path: path.join(source, "big.bin"), reason: "is larger than 1024 bytes" }]);
    expect(fs.readdirSync(target)).toEqual(["small.md"]);
  });

  it("stops at the depth and entry limits, saying so", () => {
    const { source, target } = setup();
    writeTree(source, { "1/2/3/4/deep.md": "deep", "top.md": "top" }, mine);
    const deep = copyEntry(source, target, { limits: { ...DEFAULT_LIMITS, maxDepth: 2 } });
    expect(deep.skipped).toEqual([{ path: path.join(source, "1/2"), reason: "nested deeper than 2 levels" }]);
    expect(fs.existsSync(path.join(target, "top.md"))).toBe(true);

    const many = setup();
    writeTree(many.source, Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`f${i}.md`, "x"])), mine);
    const limited = copyEntry(many.source, many.target, { limits: { ...DEFAULT_LIMITS, maxEntries: 4 } });
    expect(limited.copied).toHaveLength(4);
    expect(limited.skipped.every((s) => s.reason === "more than 4 entries")).toBe(true);
  });

  it("ignores a missing source", () => {
    const { root, target } = setup();
    expect(copyEntry(path.join(root, "nope"), target)).toEqual({ copied: [], skipped: [] });
    expect(fs.existsSync(target)).toBe(false);
  });

  it("never writes outside the target: every copied path lies inside it", () => {
    const { source, target } = setup();
    writeTree(source, { "a/b/c.md": "c", "..x": "dots are fine inside a name", "a/...": "so is this" }, mine);
    const result = copyEntry(source, target);
    for (const copied of result.copied) expect(copied === target || copied.startsWith(target + path.sep)).toBe(true);
    expect(fs.readFileSync(path.join(target, "..x"), "utf8")).toBe("dots are fine inside a name");
  });

  it("refuses to replace what is at the target, even a symlink planted there", () => {
    const { source, outside, target } = setup();
    writeTree(source, { "f.md": "new" }, mine);
    fs.symlinkSync(path.join(outside, "secret.txt"), target);
    expect(() => copyEntry(path.join(source, "f.md"), target)).toThrow(/EEXIST/);
    expect(fs.readFileSync(path.join(outside, "secret.txt"), "utf8")).toBe("OUTSIDE-SECRET\n");
  });
});

describe("safe-fs primitives", () => {
  it("isSafeName: one path component that cannot climb out", () => {
    for (const bad of ["", ".", "..", "a/b", "../x", "/abs", "nul\0byte"]) expect(isSafeName(bad)).toBe(false);
    for (const good of ["a", ".credentials.json", "..x", "...", "CLAUDE.md", "with space"]) expect(isSafeName(good)).toBe(true);
  });

  it("readRegularFile: refuses a symlink (O_NOFOLLOW), a FIFO (O_NONBLOCK, no hang) and an oversized file", () => {
    const { source, outside } = setup();
    fs.symlinkSync(path.join(outside, "secret.txt"), path.join(source, "link"));
    execFileSync("mkfifo", [path.join(source, "fifo")]);
    writeTree(source, { big: Buffer.alloc(100) }, mine);
    expect(() => readRegularFile(path.join(source, "link"), 1e6)).toThrow(UnsafeFileError);
    expect(() => readRegularFile(path.join(source, "link"), 1e6)).toThrow("is a symlink (not followed)");
    expect(() => readRegularFile(path.join(source, "fifo"), 1e6)).toThrow("is a FIFO");
    expect(() => readRegularFile(path.join(source, "big"), 99)).toThrow("is larger than 99 bytes");
    expect(readRegularFile(path.join(source, "big"), 100)).toHaveLength(100);
  });

  it("writeNewFile: creates 0600 whatever the umask, never replaces, never writes through a link", () => {
    const { source, outside } = setup();
    const file = path.join(source, "new");
    const previous = process.umask(0);
    try {
      writeNewFile(file, "one");
    } finally {
      process.umask(previous);
    }
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(() => writeNewFile(file, "two")).toThrow(/EEXIST/);
    fs.symlinkSync(path.join(outside, "secret.txt"), path.join(source, "link"));
    expect(() => writeNewFile(path.join(source, "link"), "overwrite")).toThrow(/EEXIST/);
    expect(fs.readFileSync(path.join(outside, "secret.txt"), "utf8")).toBe("OUTSIDE-SECRET\n");
  });

  it("replaceFileAtomically: replaces the file, leaves no temp file, replaces a symlink rather than writing through it", () => {
    const { source, outside } = setup();
    const file = path.join(source, "creds");
    fs.writeFileSync(file, "old");
    replaceFileAtomically(file, "new");
    expect(fs.readFileSync(file, "utf8")).toBe("new");
    expect(fs.readdirSync(source)).toEqual(["creds"]);
    const link = path.join(source, "link");
    fs.symlinkSync(path.join(outside, "secret.txt"), link);
    replaceFileAtomically(link, "replaced");
    expect(fs.lstatSync(link).isFile()).toBe(true);
    expect(fs.readFileSync(path.join(outside, "secret.txt"), "utf8")).toBe("OUTSIDE-SECRET\n");
  });

  it.runIf(asRoot)("chownTree changes links themselves, never what they point to", () => {
    const { root, source, outside } = setup();
    writeTree(source, { "a/b.md": "b" }, mine);
    fs.symlinkSync(path.join(outside, "secret.txt"), path.join(source, "a", "link"));
    chownTree(source, STORE_OWNER);
    expect(fs.lstatSync(path.join(source, "a", "link")).uid).toBe(STORE_OWNER.uid);
    expect(fs.statSync(path.join(outside, "secret.txt")).uid).toBe(mine.uid);
    expect(fs.statSync(path.join(source, "a/b.md")).uid).toBe(STORE_OWNER.uid);
    void root;
  });
});
