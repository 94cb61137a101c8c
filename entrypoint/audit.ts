import os from "node:os";
import { recordEvent as recordStoreEvent, type NewEvent } from "../core/events";
import type { Store } from "../core/store";
import type { Refresher } from "../core/refresh";

// The entrypoint's entries in the store's event log (Store.appendEvent). Written as root into
// the store, which the workload cannot reach (store-reach.ts refuses to start otherwise), so
// a hostile workload can neither forge nor erase them. A log that cannot be written is said
// once and never stops a run (core/events.ts recordEvent).

/** The entrypoint as it signs its refreshes (core/refresh.ts). */
export function entrypointRefresher(): Refresher {
  return { by: "entrypoint", ...containerIdentity() };
}

export function recordEvent(store: Store, event: Omit<NewEvent, "by">): Promise<void> {
  return recordStoreEvent(store, { by: "entrypoint", ...event });
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
