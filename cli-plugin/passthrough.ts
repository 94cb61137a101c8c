import { containsTokenShape } from "../core/redact";
import { UsageError } from "./spec";

// Flags passed on to `docker run` as given (-e, -v), checked so that no secret ends up on
// a command line (visible in `ps` and in `docker inspect`).

export function envFlags(entries: string[], command = "docker claudeauth"): string[] {
  const flags: string[] = [];
  for (const entry of entries) {
    const eq = entry.indexOf("=");
    const name = eq === -1 ? entry : entry.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new UsageError(`invalid environment variable "${name}" in -e`, command);
    if (eq !== -1 && containsTokenShape(entry.slice(eq + 1))) {
      throw new UsageError(`-e ${name}=... holds a token: tokens never go on a command line; export ${name} and pass "-e ${name}" (no value), or use the store`, command);
    }
    flags.push("-e", entry);
  }
  return flags;
}

export function volumeFlags(entries: string[]): string[] {
  return entries.flatMap((entry) => ["-v", entry]);
}
