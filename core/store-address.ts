import path from "node:path";
import { UserError } from "./errors";

// How a store is named, the same way on the plugin's command line (--store), in the
// entrypoint's --store / CLAUDEAUTH_STORE and in the docs: a path is a directory store;
// any other backend has a scheme ("helper:NAME", "k8s://NS/NAME"). Each backend adds its
// scheme here and its opener where the store is opened (entrypoint/open-store.ts, and
// cli-plugin/stores/ for the plugin).

export type StoreAddress = { kind: "dir"; path: string };

/** A scheme: letters, digits, "+", "-" or "." after a letter, then ":" (RFC 3986), but not a one-letter drive. */
const SCHEME = /^([a-z][a-z0-9+.-]+):/i;

export function parseStoreAddress(text: string): StoreAddress {
  const scheme = SCHEME.exec(text)?.[1]?.toLowerCase();
  if (scheme !== undefined) {
    throw new UserError(`unknown store address "${text}": give a directory path (a path with ":" in its first part: write it as ./${text})`, 125);
  }
  if (text.trim() === "") throw new UserError("the store address is empty: give a directory path", 125);
  return { kind: "dir", path: path.resolve(text) };
}

