import fs from "node:fs";
import path from "node:path";
import { MAX_AUTH_FILE_BYTES } from "./layout";
import { describeKind, isSafeName, lstatOrNull, makePrivateDir, readRegularFile, UnsafeFileError, writeNewFile, type Owner, type Skip } from "./safe-fs";

// Copies an allow-list of entries into a fresh directory. Anything unexpected (a symlink,
// a FIFO, a device, an oversized file, a name that could climb out) is skipped with a
// reason, never followed or opened.

export type CopyLimits = { maxFileBytes: number; maxEntries: number; maxDepth: number };
export const DEFAULT_LIMITS: CopyLimits = { maxFileBytes: MAX_AUTH_FILE_BYTES, maxEntries: 10_000, maxDepth: 8 };

export type CopyResult = { copied: string[]; skipped: Skip[] };

/** Copies `source` (file or directory tree) to the new path `target`. Missing sources are ignored. */
export function copyEntry(
  source: string,
  target: string,
  options: { owner?: Owner; limits?: CopyLimits; result?: CopyResult } = {},
): CopyResult {
  const limits = options.limits ?? DEFAULT_LIMITS;
  const result = options.result ?? { copied: [], skipped: [] };
  copyNode(source, target, 0, limits, options.owner, result);
  return result;
}

function copyNode(source: string, target: string, depth: number, limits: CopyLimits, owner: Owner | undefined, result: CopyResult): void {
  const stat = lstatOrNull(source);
  if (!stat) return;
  if (result.copied.length >= limits.maxEntries) {
    result.skipped.push({ path: source, reason: `more than ${limits.maxEntries} entries` });
    return;
  }
  if (stat.isDirectory()) {
    if (depth >= limits.maxDepth) {
      result.skipped.push({ path: source, reason: `nested deeper than ${limits.maxDepth} levels` });
      return;
    }
    makePrivateDir(target, owner);
    result.copied.push(target);
    for (const name of fs.readdirSync(source).sort()) {
      if (!isSafeName(name)) continue;
      copyNode(path.join(source, name), path.join(target, name), depth + 1, limits, owner, result);
    }
    return;
  }
  if (!stat.isFile()) {
    result.skipped.push({ path: source, reason: `is ${describeKind(stat)}` });
    return;
  }
  try {
    writeNewFile(target, readRegularFile(source, limits.maxFileBytes), owner);
    result.copied.push(target);
  } catch (error) {
    if (!(error instanceof UnsafeFileError)) throw error;
    result.skipped.push({ path: source, reason: error.message });
  }
}
