import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { UserError, errorMessage } from "../../core/errors";
import { log, print } from "../../core/output";
import { formatRelative } from "../../core/duration";
import { analyze, quote } from "../stores/analyze";
import type { Docker } from "../engine/docker";
import { stateWord } from "../stores/format";
import { describeStore, hubRoot, listHostProfiles, PROFILE_LABEL, resolveStore, validateProfileName, validateVolumeName, type HostStoreRef } from "../stores/profile";
import { openBackend, readReport, REVOKE_WHERE, storesOfProfile, type StoreBackend } from "../stores/backends";
import { alignColumns, render, type Format } from "../docker-cli/format";

// profile ls / profile rm: the stores under the hub directory, and the Docker volumes the
// plugin created (labelled with their profile).

export type ProfileListOptions = { format: Format; quiet: boolean };

/** A volume's store is read only by `status --store-volume` (it takes a container): its status is null. */
type Row = { profile: string; kind: "dir" | "volume"; store: string; mode: string | null; status: string | null; healthy: boolean | null; expires: string | null };

export async function listProfiles(options: ProfileListOptions, docker: Docker): Promise<number> {
  const rows: Row[] = await Promise.all(
    listHostProfiles().map(async (profile) => {
      const ref = resolveStore({ profile }) as HostStoreRef & { kind: "dir" };
      const status = analyze(ref, await readReport(ref, docker));
      const expires = status.accessToken ? formatRelative(status.accessToken.expiresInMs) : null;
      return { profile, kind: "dir" as const, store: ref.path, mode: status.mode, status: stateWord(status), healthy: status.healthy, expires };
    }),
  );
  const volumes = await docker.capture(["volume", "ls", "--filter", `label=${PROFILE_LABEL}`, "--format", `{{.Name}}\t{{.Label "${PROFILE_LABEL}"}}`]);
  if (volumes.code === 0) {
    for (const line of volumes.stdout.split("\n").filter(Boolean)) {
      const [name, profile] = line.split("\t");
      rows.push({ profile: profile || "?", kind: "volume", store: name!, mode: null, status: null, healthy: null, expires: null });
    }
  } else log.warn(`volumes not listed: ${docker.failure("docker volume ls", volumes).message}`);

  if (options.quiet) print(rows.map((r) => r.profile).join("\n"));
  else print(render(options.format, { json: rows, table: () => profileTable(rows) }));
  return 0;
}

/** Two rows may name the same profile (a host store and a volume): TYPE and STORE tell them apart. */
function profileTable(rows: Row[]): string {
  if (rows.length === 0) return `no profiles yet (host stores live in ${hubRoot()}): log in with "docker claudeauth setup"`;
  const lines = [["PROFILE", "TYPE", "STORE", "MODE", "STATUS", "EXPIRES"], ...rows.map((r) => [r.profile, r.kind, r.store, r.mode ?? "-", r.status ?? "-", r.expires ?? "-"])];
  const table = alignColumns(lines.map((cells) => cells.join("\t")));
  return rows.some((r) => r.kind === "volume") ? `${table}\n(a volume's status: docker claudeauth status --store-volume NAME)` : table;
}

export type ProfileRemoveOptions = { profiles: string[]; volumes: string[]; force: boolean };

export async function removeProfiles(options: ProfileRemoveOptions, docker: Docker): Promise<number> {
  if (options.profiles.length === 0 && options.volumes.length === 0) throw new UserError("name a profile to remove (or --store-volume NAME)", 125);
  type Target = { what: string; profile: string | null; dir: string | null; backend: StoreBackend };
  const targets: Target[] = [];
  const unsearched: string[] = [];
  for (const name of options.profiles) {
    const found = await storesOfProfile(validateProfileName(name), docker);
    const stores = found.stores;
    unsearched.push(...found.unsearched);
    if (stores.length === 0) {
      const ref = resolveStore({ profile: name });
      throw new UserError(`no such profile: ${name} (${describeStore(ref)} does not exist${found.unsearched.length ? `; ${found.unsearched.join("; ")}` : " and no volume is labelled with it"})`);
    }
    for (const backend of stores) {
      const dir = backend.ref.kind === "dir" ? backend.ref.path : null;
      targets.push({ what: `profile ${name} (${describeStore(backend.ref)})`, profile: name, dir, backend });
    }
  }
  for (const volume of options.volumes) {
    const ref = { kind: "volume" as const, profile: "", volume: validateVolumeName(volume) };
    targets.push({ what: `volume ${volume}`, profile: null, dir: null, backend: openBackend(ref, docker) });
  }
  for (const target of targets) {
    if (target.dir) {
      if (!looksLikeStore(target.dir)) throw new UserError(`${target.dir} does not look like a claudeauth store (no captures/): not removing it; remove it yourself if you are sure`);
      refuseForeignEntries(target.dir);
    }
  }
  if (!options.force) {
    if (!process.stdin.isTTY) throw new UserError(`removing ${targets.map((t) => t.what).join(", ")} deletes the login for good: add --force to confirm`, 125);
    const answer = await ask(`Remove ${targets.map((t) => t.what).join(", ")}? This deletes the login for good. [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) {
      print("nothing removed");
      return 1;
    }
  }
  for (const target of targets) {
    const label = target.profile ? `${PROFILE_LABEL}=${target.profile}` : null;
    const running = label ? await docker.capture(["ps", "--quiet", "--filter", `label=${label}`]) : null;
    if (running && running.code === 0 && running.stdout.trim() && !options.force) {
      throw new UserError(`${target.what} is in use by running containers (${running.stdout.trim().split("\n").length}); stop them first or add --force`);
    }
    try {
      await target.backend.remove();
    } catch (error) {
      if (!target.dir || error instanceof UserError) throw error;
      throw new UserError(`could not remove all of ${target.dir} (${errorMessage(error)}): remove the rest with: sudo rm -rf ${quote(target.dir)}`);
    }
    print(`removed ${target.what}`);
  }
  for (const note of unsearched) log.warn(note);
  print(`The removed logins' tokens stay valid at Anthropic until they expire: to revoke them now, ${REVOKE_WHERE}.`);
  return 0;
}

/**
 * A store with entries we may not remove (an older version's root-owned lock leftovers)
 * would be half removed: refuse before deleting anything, and say how to remove it.
 */
function refuseForeignEntries(dir: string): void {
  const uid = process.getuid?.();
  if (uid === undefined || uid === 0) return;
  const foreign: string[] = [];
  const walk = (current: string) => {
    let names: string[];
    try {
      names = fs.readdirSync(current);
    } catch {
      foreign.push(current);
      return;
    }
    for (const name of names) {
      const file = path.join(current, name);
      const stat = fs.lstatSync(file);
      if (stat.uid !== uid) foreign.push(file);
      else if (stat.isDirectory()) walk(file);
    }
  };
  walk(dir);
  if (foreign.length === 0) return;
  const sample = path.relative(dir, foreign[0]!) || ".";
  throw new UserError(
    `cannot remove ${dir}: ${foreign.length} ${foreign.length === 1 ? "entry belongs" : "entries belong"} to another user (e.g. ${sample}, left by an older version running as root); nothing was removed; remove it with: sudo rm -rf ${quote(dir)}`,
  );
}

function looksLikeStore(dir: string): boolean {
  try {
    const names = fs.readdirSync(dir);
    return names.length === 0 || names.includes("captures") || names.every((n) => n.startsWith("."));
  } catch {
    return false;
  }
}

function ask(question: string): Promise<string> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  return new Promise((resolve) => rl.question(question, (answer) => {
    rl.close();
    resolve(answer);
  }));
}
