import { appendEvent, EVENTS_FILE, EVENTS_PREVIOUS_FILE, parseEvents, type AuditEvent, type NewEvent } from "../../core/events";
import { errorMessage } from "../../core/errors";
import { log } from "../../core/output";
import type { StoreRef } from "./profile";
import type { Snapshot } from "./snapshot";

// The store's event log (core/events.ts) as the plugin sees it: read from a snapshot (a
// host directory or a volume alike), written where the plugin itself changes a host-dir
// store (a volume is written by the entrypoint, in its container).

/** The events a snapshot holds, oldest first, and how many lines were not events. */
export function eventsOf(snapshot: Snapshot): { events: AuditEvent[]; skipped: number } {
  return parseEvents([EVENTS_PREVIOUS_FILE, EVENTS_FILE].map((name) => snapshot.contents.get(name) ?? "").join(""));
}

/** Adds an event to a host-dir store's log as its owner; a failure is a warning, never a failed command. */
export function recordPluginEvent(ref: StoreRef, event: Omit<NewEvent, "by">): void {
  if (ref.kind !== "dir") return;
  try {
    appendEvent(ref.path, { by: "plugin", ...event });
  } catch (error) {
    log.warn(`could not add to the store's event log (${errorMessage(error)})`);
  }
}
