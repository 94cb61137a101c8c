import { CAPTURE_META_FILE, CLAUDE_JSON_FILE, CREDENTIALS_FILE, LONG_LIVED_TOKEN_FILE } from "./layout";
import path from "node:path";
import { serializeJson, withoutRefreshToken, type Parsed } from "./credentials";
import { readOptional, type Capture } from "./store";

// A capture packed into one Docker Swarm secret: the plugin makes it from a store's current
// capture, the entrypoint unpacks it (as root, into a root-only directory) and reads it as a
// read-only store. Only the auth files travel, by name from a fixed list, as text.

export const SWARM_SECRET_KIND = "claudeauth-swarm-secret";
/** Where a service mounts the secret (`--secret source=NAME,target=claudeauth`). */
export const SWARM_SECRET_TARGET = "claudeauth";
export const SWARM_SECRET_PATH = `/run/secrets/${SWARM_SECRET_TARGET}`;
/** Swarm refuses secrets larger than 500 KiB. */
export const SWARM_SECRET_MAX_BYTES = 500 * 1024;
export const SWARM_SECRET_FILES = [CREDENTIALS_FILE, CLAUDE_JSON_FILE, LONG_LIVED_TOKEN_FILE, CAPTURE_META_FILE] as const;

export type SwarmSecret = {
  schema: 1;
  kind: typeof SWARM_SECRET_KIND;
  profile: string;
  generation: number;
  /** The capture's files by name (SWARM_SECRET_FILES only). */
  files: Partial<Record<(typeof SWARM_SECRET_FILES)[number], string>>;
};

export function encodeSwarmSecret(secret: SwarmSecret): string {
  return JSON.stringify(secret) + "\n";
}

/** The secret's shape checked; the files themselves are validated as a capture by whoever unpacks them. */
export function decodeSwarmSecret(text: string): Parsed<SwarmSecret> {
  const bad = (problem: string): Parsed<SwarmSecret> => ({ ok: false, problem });
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return bad("it is not JSON");
  }
  const secret = data as Partial<SwarmSecret> | null;
  if (!secret || typeof secret !== "object" || secret.kind !== SWARM_SECRET_KIND) return bad(`it is not a ${SWARM_SECRET_KIND}`);
  if (secret.schema !== 1) return bad(`schema ${String(secret.schema)} is not known to this entrypoint (1)`);
  if (typeof secret.profile !== "string" || !Number.isSafeInteger(secret.generation) || secret.generation! < 1) return bad("its profile or generation is missing");
  if (!secret.files || typeof secret.files !== "object") return bad("it holds no files");
  for (const [name, content] of Object.entries(secret.files)) {
    if (!(SWARM_SECRET_FILES as readonly string[]).includes(name)) return bad(`it holds an unexpected file "${name}"`);
    if (typeof content !== "string") return bad(`its file ${name} is not text`);
  }
  return { ok: true, value: secret as SwarmSecret };
}

/** What a store hands over for a secret: its current capture's generation and auth files. */
export type SwarmSecretFiles = Pick<SwarmSecret, "generation" | "files">;

/**
 * The capture's auth files for a secret, read with `read` (a file of the capture by name, null
 * if absent: its directory, or a helper's bundle in memory). The refresh token stays out unless
 * asked for: nothing in a swarm spends it, and a secret cannot be taken back from the nodes.
 */
export function swarmSecretFiles(capture: Omit<Capture, "dir">, includeRefreshToken: boolean, read: (name: string) => string | null): SwarmSecretFiles {
  const files: SwarmSecret["files"] = {};
  for (const name of SWARM_SECRET_FILES) {
    const text = read(name);
    if (text !== null) files[name] = text;
  }
  if (capture.credentials?.claudeAiOauth.refreshToken && !includeRefreshToken) files[CREDENTIALS_FILE] = serializeJson(withoutRefreshToken(capture.credentials));
  return { generation: capture.generation, files };
}

/** A reader of a capture's files in its directory, for swarmSecretFiles. */
export function captureDirReader(capture: Capture): (name: string) => string | null {
  return (name) => readOptional(path.join(capture.dir, name));
}
