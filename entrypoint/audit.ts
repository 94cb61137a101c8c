import os from "node:os";
import { appendEvent, type NewEvent } from "../core/events";
import { errorMessage } from "../core/errors";
import { log } from "../core/output";
import type { Store } from "../core/store";

// The entrypoint's entries in the store's event log (core/events.ts). Written as root into
// the store, which the workload cannot reach (store-reach.ts refuses to start otherwise), so
// a hostile workload can neither forge nor erase them. A log that cannot be written (a full
// disk, a read-only store) is said once and never stops a run: the audit trail must not
// become a way to deny service.

let warned = false;

export function recordEvent(store: Store, event: Omit<NewEvent, "by">): void {
  try {
    appendEvent(store.root, { by: "entrypoint", ...event }, store.owner);
  } catch (error) {
    if (!warned) log.warn(`could not add to the store's event log (${errorMessage(error)})`);
    warned = true;
  }
}

/**
 * Which container this is, as the plugin names it (CLAUDEAUTH_CONTAINER, _IMAGE, _HOST); a
 * container started otherwise (Compose, a user's own image) is named by its host name,
 * which Docker sets to the short container id.
 */
export function containerIdentity(env: NodeJS.ProcessEnv = process.env): Pick<NewEvent, "container" | "image" | "host"> {
  return {
    container: env.CLAUDEAUTH_CONTAINER || os.hostname(),
    ...(env.CLAUDEAUTH_IMAGE ? { image: env.CLAUDEAUTH_IMAGE } : {}),
    ...(env.CLAUDEAUTH_HOST ? { host: env.CLAUDEAUTH_HOST } : {}),
  };
}
