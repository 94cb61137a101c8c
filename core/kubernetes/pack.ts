import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { MAX_AUTH_FILE_BYTES } from "../layout";
import { isSafeName, makePrivateDir, readRegularFile, writeNewFile } from "../safe-fs";
import { InvalidCaptureError } from "../store";

// A capture (a small tree: the auth files, settings, agents/ and commands/) as one value of a
// Secret: {"path": base64} JSON, gzipped. Secret keys are flat and a Secret holds at most
// 1 MiB, so the tree travels packed; it is unpacked into a private directory and validated
// there exactly as a directory store's capture is.

/** What a Secret can hold, less room for its metadata. */
export const MAX_PACKED_BYTES = 1024 * 1024 - 16 * 1024;
const MAX_ENTRIES = 10_000;

/** A capture dir's files: relative path → base64 content. */
export type CaptureFiles = Record<string, string>;

export function readCaptureFiles(dir: string): CaptureFiles {
  const files: CaptureFiles = {};
  const walk = (relative: string) => {
    for (const name of fs.readdirSync(path.join(dir, relative)).sort()) {
      const entry = relative ? `${relative}/${name}` : name;
      const stat = fs.lstatSync(path.join(dir, entry));
      if (stat.isDirectory()) walk(entry);
      else files[entry] = readRegularFile(path.join(dir, entry), MAX_AUTH_FILE_BYTES).toString("base64");
    }
  };
  walk("");
  return files;
}

export function packCapture(files: CaptureFiles): Buffer {
  const packed = zlib.gzipSync(JSON.stringify(files));
  if (packed.length > MAX_PACKED_BYTES) {
    throw new InvalidCaptureError(
      `the capture is ${(packed.length / 1048576).toFixed(1)} MiB packed, more than a Kubernetes Secret holds (1 MiB): trim ~/.claude.json (its "projects" list) or use a directory store`,
    );
  }
  return packed;
}

/** The files of a packed capture; anything that is not a plain relative path makes the capture invalid. */
export function decodeCapture(packed: Buffer): CaptureFiles {
  let files: Record<string, unknown>;
  try {
    files = JSON.parse(zlib.gunzipSync(packed, { maxOutputLength: 64 * MAX_AUTH_FILE_BYTES }).toString("utf8")) as Record<string, unknown>;
    if (typeof files !== "object" || files === null || Array.isArray(files)) throw new Error("not an object");
  } catch (error) {
    throw new InvalidCaptureError(`the Secret's capture does not unpack (${(error as Error).message})`);
  }
  const entries = Object.entries(files);
  if (entries.length > MAX_ENTRIES) throw new InvalidCaptureError(`the Secret's capture has more than ${MAX_ENTRIES} files`);
  for (const [name, content] of entries) {
    const parts = name.split("/");
    if (typeof content !== "string" || !parts.every(isSafeName) || parts.length > 8) throw new InvalidCaptureError(`the Secret's capture holds an unsafe entry "${name}"`);
  }
  return files as CaptureFiles;
}

/** Unpacks into `dir` (new, private). */
export function unpackCapture(packed: Buffer, dir: string): void {
  const files = decodeCapture(packed);
  makePrivateDir(dir);
  for (const [name, content] of Object.entries(files)) {
    const parts = name.split("/");
    try {
      for (let i = 1; i < parts.length; i++) {
        const sub = path.join(dir, ...parts.slice(0, i));
        if (!fs.existsSync(sub)) makePrivateDir(sub);
      }
      writeNewFile(path.join(dir, ...parts), Buffer.from(content, "base64"));
    } catch (error) {
      throw new InvalidCaptureError(`the Secret's capture holds a clashing entry "${name}" (${(error as Error).message})`);
    }
  }
}
