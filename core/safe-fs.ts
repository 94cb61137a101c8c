import fs from "node:fs";
import path from "node:path";

// File primitives that never follow a symlink and never open a special file. They are
// synchronous on purpose: captures are small, and a signal handler must not interleave
// with half a copy.

export type Owner = { uid: number; gid: number };
export type Skip = { path: string; reason: string };

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK, O_WRONLY, O_CREAT, O_EXCL } = fs.constants;

export class UnsafeFileError extends Error {}

export function describeKind(stat: fs.Stats): string {
  if (stat.isSymbolicLink()) return "a symlink (not followed)";
  if (stat.isFIFO()) return "a FIFO";
  if (stat.isSocket()) return "a socket";
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return "a device";
  if (stat.isDirectory()) return "a directory";
  return "not a regular file";
}

export function lstatOrNull(file: string): fs.Stats | null {
  try {
    return fs.lstatSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

/** Reads a regular file without following a symlink; O_NONBLOCK so a FIFO swapped in cannot hang us. */
export function readRegularFile(file: string, maxBytes: number): Buffer {
  let fd: number;
  try {
    fd = fs.openSync(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ELOOP") throw new UnsafeFileError("is a symlink (not followed)");
    throw error;
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new UnsafeFileError(`is ${describeKind(stat)}`);
    if (stat.size > maxBytes) throw new UnsafeFileError(`is larger than ${maxBytes} bytes`);
    const buffer = Buffer.alloc(stat.size);
    let offset = 0;
    while (offset < stat.size) {
      const n = fs.readSync(fd, buffer, offset, stat.size - offset, offset);
      if (n === 0) break;
      offset += n;
    }
    return buffer.subarray(0, offset);
  } finally {
    fs.closeSync(fd);
  }
}

/** Creates a new file (never replaces, never follows a link), 0600, fsynced, owned as asked. */
export function writeNewFile(file: string, data: Buffer | string, owner?: Owner, mode = 0o600): void {
  const fd = fs.openSync(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
  try {
    fs.writeFileSync(fd, data);
    fs.fchmodSync(fd, mode);
    if (owner) fs.fchownSync(fd, owner.uid, owner.gid);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Replaces a file atomically: a temp file, fsync, rename, fsync the directory. The temp file
 * is beside the target unless `tempDir` (same filesystem) says otherwise: a directory only
 * we can write, when another user owns the target's, so that nothing of ours is ever opened
 * there (rename replaces a planted symlink instead of following it).
 */
export function replaceFileAtomically(file: string, data: Buffer | string, owner?: Owner, mode = 0o600, tempDir = path.dirname(file)): void {
  const temp = path.join(tempDir, `.${path.basename(file)}.tmp-${process.pid}-${Date.now()}`);
  writeNewFile(temp, data, owner, mode);
  try {
    fs.renameSync(temp, file);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw error;
  }
  fsyncDirectory(path.dirname(file));
}

export function makePrivateDir(dir: string, owner?: Owner): void {
  fs.mkdirSync(dir, { mode: 0o700 });
  fs.chmodSync(dir, 0o700);
  if (owner) fs.chownSync(dir, owner.uid, owner.gid);
}

export function fsyncDirectory(dir: string): void {
  const fd = fs.openSync(dir, O_RDONLY);
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** A single path component that cannot climb out of its directory. */
export function isSafeName(name: string): boolean {
  return name !== "" && name !== "." && name !== ".." && !name.includes("/") && !name.includes("\0");
}

export function chownTree(root: string, owner: Owner): void {
  const stat = fs.lstatSync(root);
  fs.lchownSync(root, owner.uid, owner.gid);
  if (stat.isDirectory()) {
    for (const name of fs.readdirSync(root)) chownTree(path.join(root, name), owner);
  }
}
