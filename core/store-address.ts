import path from "node:path";
import { UserError } from "./errors";
import { validateHelperName } from "./credential-helper";
import { formatKubernetesAddress, isKubernetesAddress, parseKubernetesAddress } from "./kubernetes/address";

// How a store is named, the same way on the plugin's command line (--store), in the
// entrypoint's --store / CLAUDEAUTH_STORE and in the docs: a path is a directory store;
// any other backend has a scheme ("helper:NAME", "k8s://NS/NAME"). Each backend adds its
// scheme here and its opener where the store is opened (entrypoint/open-store.ts, and
// cli-plugin/stores/ for the plugin).

export type StoreAddress =
  | { kind: "dir"; path: string }
  /** A Docker credential helper: helper:NAME; helper: alone (name null) is the credsStore of the Docker config. */
  | { kind: "helper"; name: string | null }
  | { kind: "k8s"; namespace: string; name: string };

/** A scheme: letters, digits, "+", "-" or "." after a letter, then ":" (RFC 3986), but not a one-letter drive. */
const SCHEME = /^([a-z][a-z0-9+.-]+):/i;

export function parseStoreAddress(text: string): StoreAddress {
  if (isKubernetesAddress(text)) return { kind: "k8s", ...parseKubernetesAddress(text) };
  const scheme = SCHEME.exec(text)?.[1]?.toLowerCase();
  if (scheme === "helper") {
    const name = text.slice("helper:".length);
    return { kind: "helper", name: name === "" ? null : validateHelperName(name) };
  }
  if (scheme !== undefined) {
    throw new UserError(`unknown store address "${text}": give a directory path, helper:NAME or k8s://NAMESPACE/NAME (a path with ":" in its first part: write it as ./${text})`, 125);
  }
  if (text.trim() === "") throw new UserError("the store address is empty: give a directory path", 125);
  return { kind: "dir", path: path.resolve(text) };
}

/** The address as a user writes it. */
export function formatStoreAddress(address: StoreAddress): string {
  if (address.kind === "dir") return address.path;
  if (address.kind === "helper") return `helper:${address.name ?? ""}`;
  return formatKubernetesAddress(address);
}
