import fs from "node:fs";
import path from "node:path";
import { CAPTURE_META_FILE, CLAUDE_JSON_FILE, CREDENTIALS_FILE, GENERATION_NAME, LONG_LIVED_TOKEN_FILE, MAX_AUTH_FILE_BYTES, SETTINGS_FILE } from "../../core/layout";
import { EVENTS_FILE, EVENTS_PREVIOUS_FILE } from "../../core/events";
import { readRegularFile, UnsafeFileError } from "../../core/safe-fs";
import { errorMessage, UserError } from "../../core/errors";
import { DEFAULT_HARDENING, hardeningFlags, type Docker } from "../engine/docker";
import { imageExists, imageName, requireImage } from "../engine/images";
import { describeStore, storeMount, type StoreRef } from "./profile";
import { parseTar } from "./tar";

// What a store holds, read without changing it: the layout (root, captures/, the current
// capture) with kinds, modes and owners, and the text of the auth files of the current
// capture. A host dir is read directly (fast, no Docker); a volume through a throw-away
// container that tars it (no network, read-only mount).

export type EntryType = "file" | "dir" | "symlink" | "other";
export type Entry = { path: string; type: EntryType; mode: number; uid: number; gid: number; size: number; mtimeMs: number };

export type Snapshot = {
  ref: StoreRef;
  exists: boolean;
  entries: Entry[];
  /** Text of the files worth reading, by path relative to the store root. */
  contents: Map<string, string>;
  /** Paths that could not be read, with why (permission denied, a symlink, ...). */
  unreadable: { path: string; problem: string }[];
  /** The newest generation (the current capture, unless it does not read). */
  generation: number | null;
  /** Every generation present, newest first; the auth files of each are in `contents`. */
  generations: number[];
};

/**
 * Files whose text matters, relative to a capture dir (or to the root of a ~/.claude-style
 * dir): the auth files, the settings (for override warnings) and the store's event log.
 */
export const AUTH_FILES = [CREDENTIALS_FILE, CLAUDE_JSON_FILE, LONG_LIVED_TOKEN_FILE, CAPTURE_META_FILE, SETTINGS_FILE, EVENTS_FILE, EVENTS_PREVIOUS_FILE];

export function generationDir(generation: number): string {
  return `captures/${String(generation).padStart(8, "0")}`;
}

export async function readSnapshot(ref: StoreRef, docker: Docker): Promise<Snapshot> {
  return ref.kind === "dir" ? readHostSnapshot(ref) : readVolumeSnapshot(ref, docker);
}

export function readHostSnapshot(ref: StoreRef & { kind: "dir" }): Snapshot {
  const snapshot: Snapshot = { ref, exists: false, entries: [], contents: new Map(), unreadable: [], generation: null, generations: [] };
  const root = ref.path;
  const rootEntry = lstatEntry(root, ".", snapshot);
  if (!rootEntry) return snapshot;
  snapshot.exists = true;
  if (rootEntry.type !== "dir") return snapshot;

  const top = listDir(root, ".", snapshot);
  for (const name of top) {
    const entry = lstatEntry(path.join(root, name), name, snapshot);
    if (entry && entry.type === "file" && AUTH_FILES.includes(name)) readText(path.join(root, name), name, snapshot);
  }
  if (!top.includes("captures")) return snapshot;
  const capturesDir = path.join(root, "captures");
  const names = listDir(capturesDir, "captures", snapshot);
  for (const name of names) lstatEntry(path.join(capturesDir, name), `captures/${name}`, snapshot);
  const generations = names.filter((name) => GENERATION_NAME.test(name)).map(Number).sort((a, b) => b - a);
  if (generations.length === 0) return snapshot;
  snapshot.generation = generations[0]!;
  snapshot.generations = generations;
  // Older captures: only their auth files, to tell which one a run falls back to.
  for (const generation of generations.slice(1)) {
    const older = generationDir(generation);
    for (const name of AUTH_FILES) {
      if (fs.existsSync(path.join(root, older, name))) readText(path.join(root, older, name), `${older}/${name}`, snapshot);
    }
  }
  const relative = generationDir(snapshot.generation);
  for (const name of listDir(path.join(root, relative), relative, snapshot)) {
    const entry = lstatEntry(path.join(root, relative, name), `${relative}/${name}`, snapshot);
    if (!entry) continue;
    if (entry.type === "file" && AUTH_FILES.includes(name)) readText(path.join(root, relative, name), `${relative}/${name}`, snapshot);
    if (entry.type === "dir") {
      for (const child of listDir(path.join(root, relative, name), `${relative}/${name}`, snapshot)) {
        lstatEntry(path.join(root, relative, name, child), `${relative}/${name}/${child}`, snapshot);
      }
    }
  }
  return snapshot;
}

function lstatEntry(file: string, relative: string, snapshot: Snapshot): Entry | null {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "ENOENT") snapshot.unreadable.push({ path: relative, problem: describeError(error) });
    return null;
  }
  const entry: Entry = {
    path: relative,
    type: stat.isFile() ? "file" : stat.isDirectory() ? "dir" : stat.isSymbolicLink() ? "symlink" : "other",
    mode: stat.mode & 0o7777,
    uid: stat.uid,
    gid: stat.gid,
    size: stat.size,
    mtimeMs: stat.mtimeMs,
  };
  snapshot.entries.push(entry);
  return entry;
}

function listDir(dir: string, relative: string, snapshot: Snapshot): string[] {
  try {
    return fs.readdirSync(dir).sort();
  } catch (error) {
    snapshot.unreadable.push({ path: relative, problem: describeError(error) });
    return [];
  }
}

function readText(file: string, relative: string, snapshot: Snapshot): void {
  try {
    snapshot.contents.set(relative, readRegularFile(file, MAX_AUTH_FILE_BYTES).toString("utf8"));
  } catch (error) {
    snapshot.unreadable.push({ path: relative, problem: error instanceof UnsafeFileError ? error.message : describeError(error) });
  }
}

function describeError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  return errorMessage(error);
}

// Lists the root, captures/, the newest capture (two levels) and the auth files of the
// older ones, NUL-separated, into tar.
const VOLUME_SCRIPT = `cd /store || exit 3
g=$(ls -1 captures 2>/dev/null | grep -E '^[0-9]{8}$' | sort | tail -n 1)
{ find . -maxdepth 1 -print0
  [ -d captures ] && find captures -mindepth 1 -maxdepth 1 -print0
  [ -n "$g" ] && find "captures/$g" -mindepth 1 -maxdepth 2 -print0
  [ -d captures ] && find captures -mindepth 2 -maxdepth 2 -type f ! -path "captures/$g/*" \\( ${AUTH_FILES.map((f) => `-name '${f}'`).join(" -o ")} \\) -print0
} | tar --numeric-owner --no-recursion --null -T - -cf -`;

export async function readVolumeSnapshot(ref: StoreRef & { kind: "volume" }, docker: Docker): Promise<Snapshot> {
  const snapshot: Snapshot = { ref, exists: false, entries: [], contents: new Map(), unreadable: [], generation: null, generations: [] };
  const listed = await docker.capture(["volume", "ls", "--quiet", "--filter", `name=^${ref.volume}$`]);
  if (listed.code !== 0) throw docker.failure("docker volume ls", listed);
  if (!listed.stdout.split("\n").map((l) => l.trim()).includes(ref.volume)) return snapshot;

  const image = await anyImage(docker);
  const args = ["run", "--rm", "--network", "none", "--log-driver", "none", ...hardeningFlags(DEFAULT_HARDENING), "--mount", storeMount(ref, "/store", true), "--entrypoint", "/bin/sh", image, "-c", VOLUME_SCRIPT];
  const archive = await docker.captureBuffer(args);
  if (archive.code !== 0) throw new UserError(`cannot read ${describeStore(ref)}: ${archive.stderr.trim().split("\n")[0] || `exit code ${archive.code}`}`);
  snapshot.exists = true;
  const entries = parseTar(archive.stdout);
  snapshot.generations = entries
    .filter((e) => e.type === "dir" && /^captures\/\d{8}$/.test(e.path))
    .map((e) => Number(e.path.slice("captures/".length)))
    .sort((a, b) => b - a);
  snapshot.generation = snapshot.generations[0] ?? null;
  const newest = snapshot.generation === null ? null : `${generationDir(snapshot.generation)}/`;
  for (const entry of entries) {
    const base = entry.path.split("/").pop()!;
    const inCapture = /^captures\/\d{8}\/[^/]+$/.test(entry.path) || !entry.path.includes("/");
    if (entry.type === "file" && inCapture && AUTH_FILES.includes(base)) snapshot.contents.set(entry.path, entry.data.toString("utf8"));
    // Older captures are read for their auth files only; the listing shows the current one.
    if (/^captures\/\d{8}\//.test(entry.path) && (newest === null || !entry.path.startsWith(newest))) continue;
    snapshot.entries.push({ path: entry.path, type: entry.type, mode: entry.mode, uid: entry.uid, gid: entry.gid, size: entry.size, mtimeMs: entry.mtimeMs });
  }
  return snapshot;
}

/** Either image will do to look into a volume (both have sh, find and tar). */
async function anyImage(docker: Docker): Promise<string> {
  const setup = imageName("setup");
  if (!(await imageExists(docker, imageName("run"))) && (await imageExists(docker, setup))) return setup;
  return requireImage(docker, "run");
}
