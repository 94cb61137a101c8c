import { UserError } from "./errors";
import { registerSecret } from "./redact";

// Docker's credential-helper protocol, as the helpers speak it (docker/docker-credential-helpers):
// `docker-credential-NAME store|get|erase|list`, the request on stdin, the answer on stdout.
//   store: {"ServerURL","Username","Secret"} in, nothing out
//   get:   the server URL in, {"ServerURL","Username","Secret"} out
//   erase: the server URL in, nothing out
//   list:  nothing in, {"<server URL>": "<username>", ...} out
// A missing entry is "credentials not found in native keychain" on stdout with exit 1 (older
// helpers, Debian's 0.6.4 among them, answer an empty Secret with exit 0 instead).
// This module only encodes and checks; the plugin runs the helper (cli-plugin/stores).
// One entry per profile, under a server URL of our own: claudeauth://PROFILE.

export const HELPER_USERNAME = "claudeauth";
const SCHEME = "claudeauth://";
const HELPER_NAME = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
const NOT_FOUND = /credentials not found/i;
/** Far more than any capture; a helper answering more is not answering about ours. */
export const MAX_HELPER_ANSWER_BYTES = 4 * 1024 * 1024;

export class HelperAnswerError extends UserError {}

/** The helper's binary for a name: pass → docker-credential-pass. */
export function helperBinary(name: string): string {
  return `docker-credential-${validateHelperName(name)}`;
}

export function validateHelperName(name: string): string {
  if (!HELPER_NAME.test(name)) {
    throw new UserError(`invalid credential helper name "${name}": use the NAME of docker-credential-NAME, e.g. helper:pass, helper:secretservice, helper:osxkeychain, helper:wincred`, 125);
  }
  return name;
}

/** Where to get a helper, for the one-line "not installed" error. */
export function helperInstallHint(name: string): string {
  switch (name) {
    case "pass":
      return "Debian/Ubuntu: apt-get install golang-docker-credential-helpers pass (then pass init YOUR-GPG-KEY-ID)";
    case "secretservice":
      return "Debian/Ubuntu: apt-get install golang-docker-credential-helpers (needs a running Secret Service, e.g. GNOME Keyring)";
    case "osxkeychain":
      return "macOS: brew install docker-credential-helper (Docker Desktop ships it too)";
    case "wincred":
      return "Windows: install Docker Desktop, or docker-credential-wincred from github.com/docker/docker-credential-helpers/releases";
    case "desktop":
      return "it comes with Docker Desktop";
    default:
      return `put docker-credential-${name} on PATH`;
  }
}

export function serverUrl(profile: string): string {
  return `${SCHEME}${profile}`;
}

/** The stdin of `store` for one profile's entry. */
export function storeRequest(profile: string, secret: string): string {
  return JSON.stringify({ ServerURL: serverUrl(profile), Username: HELPER_USERNAME, Secret: secret });
}

/** Whether a failed helper call means "no such entry" (as opposed to a helper that cannot answer). */
export function isNotFound(output: string): boolean {
  return NOT_FOUND.test(output);
}

/** The Secret of a `get` answer; null when the helper holds no entry for the profile. */
export function parseGetAnswer(stdout: string, profile: string): string | null {
  if (isNotFound(stdout)) return null;
  const value = parseObject(stdout, "get");
  const secret = value.Secret;
  if (typeof secret !== "string" || (value.ServerURL !== undefined && typeof value.ServerURL !== "string")) {
    throw new HelperAnswerError(`the credential helper answered get without a Secret string`);
  }
  if (secret === "") return null; // older helpers: an empty entry for a URL they do not hold
  if (value.ServerURL && value.ServerURL !== serverUrl(profile)) throw new HelperAnswerError(`the credential helper answered get for another entry`);
  registerSecret(secret);
  return secret;
}

/** Profiles with an entry in a `list` answer (other entries, registry logins, are not ours). */
export function parseListAnswer(stdout: string): string[] {
  const value = parseObject(stdout, "list");
  return Object.keys(value)
    .filter((url) => url.startsWith(SCHEME))
    .map((url) => url.slice(SCHEME.length))
    .filter((profile) => /^[a-z0-9][a-z0-9_.-]*$/.test(profile))
    .sort();
}

function parseObject(stdout: string, command: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(stdout);
  } catch {
    throw new HelperAnswerError(`the credential helper answered ${command} with malformed JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new HelperAnswerError(`the credential helper answered ${command} with JSON that is not an object`);
  return value as Record<string, unknown>;
}

/**
 * Why a helper call failed, in words a user can act on, from its exit output (stderr or
 * stdout; the helpers print errors on stdout). Only the first line, and only the helper's
 * words: a helper never echoes the Secret, and the caller redacts what it prints anyway.
 */
export function describeHelperFailure(name: string, output: string): string {
  const first = output.split("\n").map((l) => l.trim()).find(Boolean)?.slice(0, 200) ?? "no message";
  if (/no secret key|decryption failed|gpg/i.test(output)) {
    return `docker-credential-${name} cannot decrypt (${first}): make the GPG key of the password store available (gpg --list-secret-keys; unlock it with gpg-agent)`;
  }
  if (/not initialized|pass init|password store is empty/i.test(output)) {
    return `docker-credential-${name} has no password store (${first}): run pass init YOUR-GPG-KEY-ID`;
  }
  if (/locked|user interaction is not allowed|cancel|denied|prompt/i.test(output)) {
    return `docker-credential-${name} refused (${first}): unlock the keychain (or keyring) and try again`;
  }
  return `docker-credential-${name} failed (${first})`;
}
