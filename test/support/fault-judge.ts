import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { DirStore } from "../../core/store-dir";

// The one judge of a fault-injection trial, shared by test/unit/entrypoint-faults.test.ts and
// bench/entrypoint.bench.mjs: after setup was killed, the store's current capture, read
// through the store's own reader, must be exactly A (the capture before) or exactly B (the
// home's login and config, every allow-listed file, byte for byte), nothing else.

/** What a capture holds, by the spec (not by the product's list): auth files and user config. */
const CONFIG_ENTRIES = ["settings.json", "CLAUDE.md", "agents", "commands"];
const META = "claudeauth.json";

/** A tree's content: "path kind sha256" per entry, sorted; `ignore` names top-level entries left out. */
export function treeDigest(root: string, ignore: string[] = []): string[] {
  const lines: string[] = [];
  const walk = (dir: string, top: boolean) => {
    for (const name of fs.readdirSync(dir).sort()) {
      if (top && ignore.includes(name)) continue;
      const file = path.join(dir, name);
      const stat = fs.lstatSync(file);
      const relative = path.relative(root, file);
      if (stat.isDirectory()) {
        lines.push(`${relative} dir`);
        walk(file, false);
      } else if (stat.isFile()) lines.push(`${relative} file ${crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex")}`);
      else lines.push(`${relative} other`);
    }
  };
  walk(root, true);
  return lines;
}

/** The digest a complete capture of `home` has: ~/.claude.json, ~/.claude/.credentials.json and the config entries. */
export function expectedCapture(home: string): string[] {
  const staging = fs.mkdtempSync(path.join(path.dirname(home), ".expected-"));
  try {
    const claude = path.join(home, ".claude");
    fs.cpSync(path.join(claude, ".credentials.json"), path.join(staging, ".credentials.json"));
    if (fs.existsSync(path.join(home, ".claude.json"))) fs.cpSync(path.join(home, ".claude.json"), path.join(staging, ".claude.json"));
    for (const entry of CONFIG_ENTRIES) {
      if (fs.existsSync(path.join(claude, entry))) fs.cpSync(path.join(claude, entry), path.join(staging, entry), { recursive: true });
    }
    return treeDigest(staging);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

/** The digest of a store's current capture (its metadata left out), read through the store's reader. */
export function currentDigest(store: string): string[] {
  const capture = new DirStore(store).readCurrentSync();
  if (!capture) throw new Error("the store holds no capture");
  return treeDigest(capture.dir, [META]);
}

export type Outcome = "A" | "B" | "invalid";

/** Exactly A, exactly B, or invalid (with what differs: names only, never content). */
export function judgeStore(store: string, expected: { A: string[]; B: string[] }): { outcome: Outcome; detail: string } {
  let digest: string[];
  try {
    digest = currentDigest(store);
  } catch (error) {
    return { outcome: "invalid", detail: `the store's reader refused it: ${error instanceof Error ? error.message : String(error)}` };
  }
  const same = (want: string[]) => want.length === digest.length && want.every((line, i) => line === digest[i]);
  if (same(expected.A)) return { outcome: "A", detail: "" };
  if (same(expected.B)) return { outcome: "B", detail: "" };
  const names = (lines: string[]) => new Set(lines.map((l) => l.split(" ")[0]));
  const [have, b] = [names(digest), names(expected.B)];
  const missing = [...b].filter((n) => !have.has(n));
  const extra = [...have].filter((n) => !b.has(n));
  const differ = digest.filter((l) => b.has(l.split(" ")[0]) && !expected.B.includes(l)).map((l) => l.split(" ")[0]);
  return { outcome: "invalid", detail: `neither A nor B: missing [${missing.slice(0, 5).join(", ")}], extra [${extra.slice(0, 5).join(", ")}], differing [${differ.slice(0, 5).join(", ")}]` };
}

/** Whether setup died inside a commit: its temp dir (or the store lock) is still there. */
export function diedMidCommit(store: string): boolean {
  return fs.readdirSync(path.join(store, "captures")).some((name) => name.startsWith(".tmp-")) || fs.existsSync(path.join(store, ".lock"));
}

/** The guards every fault run must pass, at any trial count: something landed on each side and inside a commit. */
export function faultGuards(counts: { A: number; B: number; invalid: number; midCommit: number }): string[] {
  const problems: string[] = [];
  if (counts.invalid > 0) problems.push(`${counts.invalid} trial(s) left a store that is neither A nor B`);
  if (counts.A === 0) problems.push("no trial kept A: the kills never landed before the commit");
  if (counts.B === 0) problems.push("no trial made B: the kills never landed after the commit");
  if (counts.midCommit === 0) problems.push("no trial was killed inside a commit");
  return problems;
}
