import fs from "node:fs";
import path from "node:path";
import { registerSecret } from "../../core/redact";

// The tests' one token scanner. Every token a test makes (fixtures, the fake endpoint, the
// benches) is tracked here; every output of every process the shared spawn helpers start
// (test/support: entrypoint, docker, images, tmux, soak) is scanned by findTokens, and
// test/support/scan-setup.ts fails the test (or the file) that saw one. It finds more than
// the product's redaction looks for: the token shape, any 12 consecutive characters of a
// tracked token (a token cut by a line wrap or a truncation), and both of these inside
// base64 and URL-encoded (percent-encoded) text. Findings never carry the token itself.

const SHAPE = /sk-ant-[a-z]{2,5}\d{0,3}-[A-Za-z0-9_-]{8,}/;
const PUBLIC_PREFIX = /^sk-ant-[a-z]{2,5}\d{0,3}-/; // the part a redacted token keeps
export const SLICE_LENGTH = 12;

const tracked = new Set<string>();
const slices = new Set<string>();

/** A secret a test made: the product's redaction learns it, and the scanner looks for its slices. */
export function trackSecret(value: string | null | undefined): void {
  if (!value || tracked.has(value)) return;
  registerSecret(value);
  tracked.add(value);
  const body = value.replace(PUBLIC_PREFIX, "");
  for (let i = 0; i + SLICE_LENGTH <= body.length; i++) slices.add(body.slice(i, i + SLICE_LENGTH));
}

export function trackedSecrets(): readonly string[] {
  return [...tracked];
}

function plainFindings(text: string): string[] {
  const found: string[] = [];
  if (SHAPE.test(text)) found.push("a token shape");
  for (let i = 0; i + SLICE_LENGTH <= text.length; i++) {
    if (slices.has(text.slice(i, i + SLICE_LENGTH))) {
      found.push(`${SLICE_LENGTH} characters of a tracked token`);
      break;
    }
  }
  return found;
}

function percentDecoded(text: string): string | null {
  if (!/%[0-9A-Fa-f]{2}/.test(text)) return null;
  return text.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** Each run of base64 (or base64url) characters decoded, at every alignment. */
function base64Decoded(text: string): string[] {
  const decoded: string[] = [];
  for (const match of text.matchAll(/[A-Za-z0-9+/_-]{16,}/g)) {
    for (let offset = 0; offset < 4; offset++) decoded.push(Buffer.from(match[0].slice(offset), "base64").toString("latin1"));
  }
  return decoded;
}

/** What token material `text` holds, in which form ("" when none); never the token. */
export function findTokens(text: string): string[] {
  const found = new Set<string>();
  for (const f of plainFindings(text)) found.add(f);
  const percent = percentDecoded(text);
  if (percent !== null) for (const f of plainFindings(percent)) found.add(`${f}, URL-encoded`);
  for (const decoded of base64Decoded(text)) for (const f of plainFindings(decoded)) found.add(`${f}, base64-encoded`);
  return [...found];
}

// ---- what the spawn helpers saw ------------------------------------------------------------

export type Leak = { source: string; findings: string[] };
const leaks: Leak[] = [];

/** Scans one output of a spawned process; `source` names the process (never its output). */
export function scanOutput(source: string, ...outputs: Array<string | undefined | null>): void {
  const findings = findTokens(outputs.filter(Boolean).join("\n"));
  if (findings.length) leaks.push({ source, findings });
}

/** The leaks seen since the last call (and forgets them). */
export function takeLeaks(): Leak[] {
  return leaks.splice(0);
}

export function describeLeaks(found: Leak[]): string {
  return found.map((l) => `${l.source}: ${l.findings.join("; ")}`).join("\n");
}

// ---- files ---------------------------------------------------------------------------------

/** Regular files under `root` (symlinks not followed) holding a token shape; their paths. */
export function filesWithTokenShapes(root: string): string[] {
  const hits: string[] = [];
  const walk = (dir: string) => {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      return; // removed meanwhile, or not readable
    }
    for (const name of names) {
      const file = path.join(dir, name);
      let stat: fs.Stats;
      try {
        stat = fs.lstatSync(file);
      } catch {
        continue;
      }
      if (stat.isDirectory()) walk(file);
      else if (stat.isFile() && stat.size <= 64 * 1024 * 1024) {
        try {
          if (SHAPE.test(fs.readFileSync(file, "latin1"))) hits.push(file);
        } catch {
          // vanished meanwhile
        }
      }
    }
  };
  walk(root);
  return hits;
}
