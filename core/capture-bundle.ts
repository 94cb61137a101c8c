import fs from "node:fs";
import path from "node:path";
import { DEFAULT_LIMITS } from "./safe-copy";
import { isSafeName, lstatOrNull, makePrivateDir, readRegularFile, writeNewFile, type Owner } from "./safe-fs";
import { UserError } from "./errors";

// A capture as one JSON text: what a credential helper keeps as its Secret and what travels
// over the plugin's channel to a container. Same files as a capture dir (credentials,
// .claude.json, settings, agents/…, claudeauth.json), each base64 (a capture may hold any
// bytes), under paths checked like the names in a capture dir; plus its generation, for
// compare-and-swap. Never printed: it holds the refresh token.

export type CaptureBundle = { schema: 1; generation: number; files: Record<string, string> };

const MAX_BUNDLE_FILES = 1_000;

export class BundleError extends UserError {}

/** The files of a capture dir (regular files and dirs only, as the capture made them). */
export function bundleFromDir(dir: string, generation: number): CaptureBundle {
  const files: Record<string, string> = {};
  const walk = (relative: string, depth: number) => {
    for (const name of fs.readdirSync(path.join(dir, relative)).sort()) {
      if (!isSafeName(name)) continue;
      const rel = relative ? `${relative}/${name}` : name;
      const stat = lstatOrNull(path.join(dir, rel));
      if (stat?.isDirectory() && depth < DEFAULT_LIMITS.maxDepth) walk(rel, depth + 1);
      else if (stat?.isFile()) files[rel] = readRegularFile(path.join(dir, rel), DEFAULT_LIMITS.maxFileBytes).toString("base64");
      if (Object.keys(files).length > MAX_BUNDLE_FILES) throw new BundleError(`the capture holds more than ${MAX_BUNDLE_FILES} files`);
    }
  };
  walk("", 0);
  return { schema: 1, generation, files };
}

/** Writes a bundle's files into a new, empty dir (made 0700 here), as a capture dir. */
export function writeBundleInto(bundle: CaptureBundle, dir: string, owner?: Owner): void {
  makePrivateDir(dir, owner);
  for (const [rel, data] of Object.entries(bundle.files)) {
    const parts = rel.split("/");
    for (let i = 1; i < parts.length; i++) {
      const sub = path.join(dir, ...parts.slice(0, i));
      if (!lstatOrNull(sub)) makePrivateDir(sub, owner);
    }
    writeNewFile(path.join(dir, ...parts), Buffer.from(data, "base64"), owner);
  }
}

export function encodeBundle(bundle: CaptureBundle): string {
  return JSON.stringify(bundle);
}

/** A bundle from its text, checked: paths that stay inside, base64 contents, a generation. */
export function parseBundle(text: string): CaptureBundle {
  let value: Partial<CaptureBundle>;
  try {
    value = JSON.parse(text) as Partial<CaptureBundle>;
  } catch {
    throw new BundleError("the stored capture is not JSON (not written by docker claudeauth, or damaged)");
  }
  if (typeof value !== "object" || value === null || value.schema !== 1 || !Number.isSafeInteger(value.generation) || value.generation! < 1 || !value.files || typeof value.files !== "object") {
    throw new BundleError("the stored capture is not a capture of docker claudeauth (schema 1 with a generation and files)");
  }
  const entries = Object.entries(value.files);
  if (entries.length > MAX_BUNDLE_FILES) throw new BundleError(`the stored capture holds more than ${MAX_BUNDLE_FILES} files`);
  for (const [rel, data] of entries) {
    const parts = rel.split("/");
    if (parts.length > DEFAULT_LIMITS.maxDepth || !parts.every(isSafeName) || typeof data !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(data)) {
      throw new BundleError("the stored capture holds a file name or content that is not allowed");
    }
  }
  // A file name that is also a directory name of another would not fit in a directory.
  const names = new Set(entries.map(([rel]) => rel));
  if (entries.some(([rel]) => rel.split("/").slice(0, -1).some((_, i, parts) => names.has(parts.slice(0, i + 1).join("/"))))) {
    throw new BundleError("the stored capture holds a file where it has a directory");
  }
  return { schema: 1, generation: value.generation!, files: value.files };
}

/** The text of one file of a bundle (null: not in it). */
export function bundleText(bundle: CaptureBundle, rel: string): string | null {
  const data = bundle.files[rel];
  return data === undefined ? null : Buffer.from(data, "base64").toString("utf8");
}
