import fs from "node:fs";
import path from "node:path";
import { redact } from "./redact";
import { errorMessage } from "./errors";
import { log } from "./output";
import type { Store } from "./store";
import { describeKind, lstatOrNull, readRegularFile, UnsafeFileError, type Owner } from "./safe-fs";

// The store's audit trail: who used the login, which refreshes happened and what the
// endpoint said, which attacks were refused. One JSON object a line in `events.log` at the
// store root, appended (O_APPEND: one write a line, never a rewrite), bounded: when the
// file reaches EVENTS_MAX_BYTES it becomes `events.log.1` (replacing the older one) and a
// new file starts, so the store keeps between one and two files' worth of the newest events.
//
// Nothing secret goes in: every line passes through redact() before it is written, and
// each field is cut to a short length. Only the entrypoint (root, in the store, which the
// workload cannot reach) and the plugin (as the store's owner) write here; a reader still
// treats every field as text a stranger chose (print() escapes it).

export const EVENTS_FILE = "events.log";
export const EVENTS_PREVIOUS_FILE = "events.log.1";
export const EVENTS_MAX_BYTES = 128 * 1024;
/** A reader's bound per file: a writer checks the size before it appends, so a file runs over by one line at most. */
const READ_MAX_BYTES = 2 * EVENTS_MAX_BYTES;
const FIELD_MAX = 240;

export const EVENT_KINDS = ["setup", "import", "refresh", "run-start", "run-end", "write-back", "refused", "lock-break", "logout"] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** How the token endpoint answered a refresh: what a monitor counts. */
export type RefreshAnswer = "ok" | "invalid_grant" | "429" | "5xx" | "network" | "other";

export type AuditEvent = {
  time: string;
  kind: EventKind;
  /** Which binary wrote it. */
  by: "entrypoint" | "plugin";
  /** refresh: a RefreshAnswer; write-back: kept / refused; refused: what was refused. */
  outcome?: string;
  /** One line for a person: why, what it was. */
  detail?: string;
  container?: string;
  image?: string;
  host?: string;
  generation?: number;
  exitCode?: number;
};

export type NewEvent = Omit<AuditEvent, "time">;

/** A store's events, oldest first, and how many lines were not events. */
export type EventLog = { events: AuditEvent[]; skipped: number };

const STRING_FIELDS = ["outcome", "detail", "container", "image", "host"] as const;
const NUMBER_FIELDS = ["generation", "exitCode"] as const;
/** Every field an event may have, in the order a person reads them. */
export const EVENT_FIELDS = ["time", "kind", "by", ...STRING_FIELDS, ...NUMBER_FIELDS] as const;

/** Appends one event to the log in `root` (the store), rotating a full file first. */
export function appendEvent(root: string, event: NewEvent, owner?: Owner, now = new Date()): void {
  const line = eventLine(event, now) + "\n";
  const file = path.join(root, EVENTS_FILE);
  rotateIfFull(root, file);
  const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK, 0o600);
  try {
    const stat = fs.fstatSync(fd);
    // Never append to a special file or to a file linked from elsewhere (root would write into it).
    if (!stat.isFile()) throw new UnsafeFileError(`${file} is ${describeKind(stat)}`);
    if (stat.nlink !== 1) throw new UnsafeFileError(`${file} has ${stat.nlink} hard links`);
    if (owner && (stat.uid !== owner.uid || stat.gid !== owner.gid)) fs.fchownSync(fd, owner.uid, owner.gid);
    fs.writeSync(fd, line);
  } finally {
    fs.closeSync(fd);
  }
}

/** One event as every backend stores it: its known fields, cut short, as JSON that went through redact(). */
export function eventLine(event: NewEvent, now = new Date()): string {
  return redact(JSON.stringify(normalize({ ...event, time: now.toISOString() })));
}

/**
 * A full log becomes the previous one. Two writers rotating at the same instant can push
 * one older file out early; the newest lines are never lost (a writer that opened the file
 * before the rename appends to it under its new name).
 */
function rotateIfFull(root: string, file: string): void {
  const stat = lstatOrNull(file);
  if (stat?.isFile() && stat.size >= EVENTS_MAX_BYTES) fs.renameSync(file, path.join(root, EVENTS_PREVIOUS_FILE));
}

/** The log's text, oldest first (the previous file, then the current one); "" when there is none. */
export function readEventsText(root: string): string {
  return [EVENTS_PREVIOUS_FILE, EVENTS_FILE]
    .map((name) => {
      const file = path.join(root, name);
      return lstatOrNull(file) ? readRegularFile(file, READ_MAX_BYTES).toString("utf8") : "";
    })
    .join("");
}

/** Events from log text, oldest first; lines that are not events (a torn write, a hand edit) are counted, not fatal. */
export function parseEvents(text: string): EventLog {
  const events: AuditEvent[] = [];
  let skipped = 0;
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      value = null;
    }
    const event = typeof value === "object" && value ? normalize(value as Record<string, unknown>) : null;
    if (event) events.push(event);
    else skipped++;
  }
  return { events, skipped };
}

/** Only the known fields, of the right types, each cut short; null when it is not an event. */
function normalize(value: Record<string, unknown>): AuditEvent | null {
  const { time, kind, by } = value;
  if (typeof time !== "string" || Number.isNaN(Date.parse(time))) return null;
  if (!EVENT_KINDS.includes(kind as EventKind) || (by !== "entrypoint" && by !== "plugin")) return null;
  const event: AuditEvent = { time, kind: kind as EventKind, by };
  for (const field of STRING_FIELDS) {
    const text = value[field];
    if (typeof text === "string" && text !== "") event[field] = text.replace(/\s*\n\s*/g, " ").slice(0, FIELD_MAX);
  }
  for (const field of NUMBER_FIELDS) {
    const number = value[field];
    if (typeof number === "number" && Number.isSafeInteger(number)) event[field] = number;
  }
  return event;
}

/** The newest event of a kind. */
export function lastEvent(events: AuditEvent[], kind: EventKind): AuditEvent | null {
  for (let i = events.length - 1; i >= 0; i--) if (events[i]!.kind === kind) return events[i]!;
  return null;
}

let warned = false;

/**
 * Adds an event to a store's log (Store.appendEvent). A log that cannot be written (a full
 * disk, a read-only store) is said once and never fails the command: the audit trail must
 * not become a way to deny service.
 */
export async function recordEvent(store: Pick<Store, "appendEvent">, event: NewEvent): Promise<void> {
  try {
    await store.appendEvent(event);
  } catch (error) {
    if (!warned) log.warn(`could not add to the store's event log (${errorMessage(error)})`);
    warned = true;
  }
}
