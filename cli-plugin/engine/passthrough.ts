import { UserError } from "../../core/errors";
import { containsTokenShape } from "../../core/redact";
import type { Docker, Hardening } from "./docker";
import { PROFILE_LABEL, protectedPlaces, refuseStoreExposure, type HostStoreRef } from "../stores/profile";
import { UsageError } from "../docker-cli/spec";

// Flags passed on to `docker run` as given (-e, -v, --mount, --cap-add), checked so that
// no secret ends up on a command line (visible in `ps` and in `docker inspect`) and that no
// mount hands the workload the store.

/** What a command that starts a production container (test, refresh) takes from docker run's flags. */
export type ContainerOptions = {
  network: string | undefined;
  image: string | undefined;
  env: string[];
  volumes: string[];
  mounts: string[];
  hardening: Hardening;
};

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

export type MountSource = { kind: "bind"; path: string } | { kind: "volume"; name: string };

/** The source of a -v value: a host path, a named volume, or none (an anonymous volume). */
export function volumeSource(entry: string): MountSource[] {
  const fields = entry.split(":");
  const source = fields[0]!;
  if (fields.length < 2 || source === "") return [];
  return /[/~]/.test(source) || source.startsWith(".") ? [{ kind: "bind", path: source }] : [{ kind: "volume", name: source }];
}

/**
 * The sources of a --mount value (CSV, as Docker reads it): a bind source, a volume, and
 * the host path of a volume that binds one (volume-opt=device=PATH).
 */
export function mountSources(entry: string): MountSource[] {
  let type = "volume";
  const sources: MountSource[] = [];
  const devices: string[] = [];
  let name: string | undefined;
  for (const field of splitCsv(entry)) {
    const eq = field.indexOf("=");
    const key = (eq === -1 ? field : field.slice(0, eq)).trim().toLowerCase();
    const value = eq === -1 ? "" : field.slice(eq + 1);
    if (key === "type") type = value.toLowerCase();
    else if (key === "source" || key === "src") name = value;
    else if (key === "volume-opt" && /^device=/.test(value)) devices.push(value.slice("device=".length));
  }
  if (name && type === "bind") sources.push({ kind: "bind", path: name });
  if (name && type === "volume") sources.push({ kind: "volume", name });
  for (const device of devices) if (device.startsWith("/")) sources.push({ kind: "bind", path: device });
  return sources;
}

/** Splits one CSV record: fields separated by commas, "quoted" with "" for a quote. */
function splitCsv(text: string): string[] {
  const fields: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      fields.push(field);
      field = "";
    } else field += c;
  }
  fields.push(field);
  return fields;
}

/**
 * -v and --mount flags for `docker run`, refused (exit 125) when one would show the
 * workload the store: a host path that contains the store or the hub directory or lies
 * inside it, or the store's volume (or any profile's) mounted a second time.
 */
export async function mountFlags(volumes: string[], mounts: string[], ref: HostStoreRef, docker: Docker): Promise<string[]> {
  const places = protectedPlaces(ref);
  const given = [...volumes.map((entry) => ({ flag: "-v", sources: volumeSource(entry) })), ...mounts.map((entry) => ({ flag: "--mount", sources: mountSources(entry) }))];
  for (const { flag, sources } of given) {
    for (const source of sources) {
      if (source.kind === "bind") refuseStoreExposure(places, source.path, `the ${flag} source`, `mount a directory that does not contain it`);
      else await refuseStoreVolume(source.name, flag, ref, docker);
    }
  }
  return [...volumes.flatMap((entry) => ["-v", entry]), ...mounts.flatMap((entry) => ["--mount", entry])];
}

/** The profile a volume is the store of, by its label; null for a volume without one or no volume. */
export async function volumeProfile(name: string, docker: Docker): Promise<string | null> {
  const labels = await docker.capture(["volume", "inspect", "--format", `{{index .Labels "${PROFILE_LABEL}"}}`, name]);
  const profile = labels.stdout.trim();
  return labels.code === 0 && profile !== "" && profile !== "<no value>" ? profile : null;
}

async function refuseStoreVolume(name: string, flag: string, ref: HostStoreRef, docker: Docker): Promise<void> {
  const profile = ref.kind === "volume" && ref.volume === name ? ref.profile : await volumeProfile(name, docker);
  if (profile) {
    throw new UserError(
      `refusing to mount the ${flag} source ${name}: it is the store volume of profile ${profile}, and the workload would read its refresh token; mount another volume`,
      125,
    );
  }
}
