import { parseBundle, type CaptureBundle } from "./capture-bundle";
import { UserError } from "./errors";

// The channel between the plugin and the entrypoint of one container, for a store kept by a
// credential helper: one unix socket connection, one JSON message per line. The plugin
// speaks first (the store's capture); then the entrypoint asks and the plugin answers:
//   hello    {bundle|null}                      plugin → entrypoint, once
//   lock     {id}          → locked {id, bundle|null}   the plugin's lock; the helper's newest capture
//   commit   {id, bundle, base} → committed {id} | conflict {id, bundle|null} | failed {id, message}
//   unlock   {id}          → unlocked {id}
//   erase    {id}          → erased {id} | failed {id, message}   the profile's entry removed (the store's remove())
// `base` is the generation the new capture was built on: the plugin writes it into the helper
// only if the helper still holds that one (compare-and-swap), and only under its lock.

export type ToEntrypoint =
  | { type: "hello"; bundle: CaptureBundle | null }
  | { type: "locked"; id: number; bundle: CaptureBundle | null }
  | { type: "committed"; id: number }
  | { type: "conflict"; id: number; bundle: CaptureBundle | null }
  | { type: "failed"; id: number; message: string }
  | { type: "unlocked"; id: number }
  | { type: "erased"; id: number };

export type ToPlugin =
  | { type: "lock"; id: number }
  | { type: "commit"; id: number; bundle: CaptureBundle; base: number | null }
  | { type: "unlock"; id: number }
  | { type: "erase"; id: number };

/** One message is a capture at most: far below this. */
const MAX_LINE_BYTES = 64 * 1024 * 1024;

export class ChannelError extends UserError {}

export function encodeMessage(message: ToEntrypoint | ToPlugin): string {
  return JSON.stringify(message) + "\n";
}

/** Splits a byte stream into messages (lines); a line over the bound ends the channel. */
export class LineDecoder {
  private pending: Buffer[] = [];
  private size = 0;

  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, start)) {
      this.pending.push(chunk.subarray(start, i));
      lines.push(Buffer.concat(this.pending).toString("utf8"));
      this.pending = [];
      this.size = 0;
      start = i + 1;
    }
    if (start < chunk.length) {
      this.pending.push(chunk.subarray(start));
      this.size += chunk.length - start;
      if (this.size > MAX_LINE_BYTES) throw new ChannelError(`the channel sent a message over ${MAX_LINE_BYTES} bytes`);
    }
    return lines;
  }
}

export function parseToEntrypoint(line: string): ToEntrypoint {
  const value = parseLine(line);
  const id = value.id;
  switch (value.type) {
    case "hello":
    case "locked":
    case "conflict":
      if (value.type !== "hello" && !Number.isSafeInteger(id)) break;
      return { ...(value as ToEntrypoint), bundle: value.bundle === null ? null : parseBundle(JSON.stringify(value.bundle)) } as ToEntrypoint;
    case "committed":
    case "unlocked":
    case "erased":
      if (Number.isSafeInteger(id)) return { type: value.type, id: id as number };
      break;
    case "failed":
      if (Number.isSafeInteger(id) && typeof value.message === "string") return { type: "failed", id: id as number, message: value.message };
  }
  throw new ChannelError("the plugin sent a message this entrypoint does not know: use the same version of docker claudeauth and its images");
}

export function parseToPlugin(line: string): ToPlugin {
  const value = parseLine(line);
  const id = value.id;
  if (Number.isSafeInteger(id)) {
    if (value.type === "lock" || value.type === "unlock" || value.type === "erase") return { type: value.type, id: id as number };
    if (value.type === "commit" && (value.base === null || Number.isSafeInteger(value.base)) && value.bundle) {
      return { type: "commit", id: id as number, bundle: parseBundle(JSON.stringify(value.bundle)), base: value.base as number | null };
    }
  }
  throw new ChannelError("the entrypoint sent a message this plugin does not know: rebuild the images with this version (docker claudeauth build)");
}

function parseLine(line: string): Record<string, unknown> {
  try {
    const value = JSON.parse(line) as unknown;
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // below
  }
  throw new ChannelError("the channel carried something that is not a message (a line of JSON)");
}
