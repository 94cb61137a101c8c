import { parseCredentials } from "../../core/credentials";
import { UserError } from "../../core/errors";
import { CREDENTIALS_FILE } from "../../core/layout";
import { log, print } from "../../core/output";
import {
  encodeSwarmSecret, SWARM_SECRET_KIND, SWARM_SECRET_MAX_BYTES, SWARM_SECRET_TARGET, type SwarmSecret,
} from "../../core/swarm-secret";
import { UsageError } from "../docker-cli/spec";
import { ENTRYPOINT_CAPABILITIES, PIDS_LIMIT, WRITABLE_TMPFS, type Docker } from "../engine/docker";
import { imageName } from "../engine/images";
import { analyze, suggest } from "../stores/analyze";
import { readReport, readSwarmSecretFiles } from "../stores/backends";
import { renderFinding, when } from "../stores/format";
import { PROFILE_LABEL, resolveStore, type HostStoreRef, type StoreSelection } from "../stores/profile";

// swarm secret: the store's current capture as a Docker Swarm secret, for services on any
// node. Secrets are immutable and cannot be read back through the API, so each capture gets
// its own version, NAME-GENERATION, and services move to a newer one with a service update
// (which replaces their tasks). Services read the secret as a read-only store: nothing in
// the swarm ever spends a refresh token, so an OAuth login goes in without one.

export type SwarmSecretOptions = {
  selection: StoreSelection;
  name: string | undefined;
  rotate: boolean;
  services: string[];
  prune: boolean;
  includeRefreshToken: boolean;
};

const COMMAND = "docker claudeauth swarm secret";
/** Labels that make a secret ours: its base name (NAME), and what is in it (never a token). */
const BASE_LABEL = "io.claudeauth.swarm-secret";
const GENERATION_LABEL = "io.claudeauth.generation";
const MODE_LABEL = "io.claudeauth.mode";
const REFRESH_LABEL = "io.claudeauth.refresh-token";
const EXPIRES_LABEL = "io.claudeauth.expires-at";
/** Swarm's own rule for object names (64 characters at most); "-GENERATION" follows the base. */
const BASE_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,46}[A-Za-z0-9])?$/;
/** A service update waits for the new tasks; the CLI gives up on an update that cannot converge. */
const UPDATE_TIMEOUT_MS = 10 * 60_000;

type Version = { name: string; generation: number; mode: "oauth" | "long-lived"; refreshToken: boolean; expiresAt: string | null };

export async function swarmSecret(options: SwarmSecretOptions, docker: Docker): Promise<number> {
  const ref = resolveStore(options.selection);
  const base = options.name ?? defaultBase(ref);
  if (!BASE_NAME.test(base)) throw new UsageError(`invalid --name "${base}": use up to 48 letters, digits, "_", "." and "-", starting and ending with a letter or digit`, COMMAND);
  if (options.rotate && options.services.length === 0) throw new UsageError("--rotate needs the services to move: --rotate SERVICE [SERVICE...]", COMMAND);
  if (!options.rotate && options.services.length > 0) throw new UsageError(`"${options.services[0]}": name services after --rotate`, COMMAND);
  await requireManager(docker);

  const secret = await readCapture(ref, docker, options.includeRefreshToken);
  const version = await ensureVersion(docker, ref, base, secret);
  let failed = false;
  if (options.rotate) for (const service of options.services) await rotate(docker, service, base, version.name);
  if (options.prune) failed = !(await prune(docker, base, version.name, again(ref, base)));
  if (!options.rotate && !options.prune) printUsage(ref, base, version);
  return failed ? 1 : 0;
}

// ---------------------------------------------------------------------------------------
// The engine must be a Swarm manager: only managers hold secrets and services.

async function requireManager(docker: Docker): Promise<void> {
  const text = await docker.output(["info", "--format", "{{json .Swarm}}"], "docker info");
  let swarm: { LocalNodeState?: string; ControlAvailable?: boolean } = {};
  try {
    swarm = JSON.parse(text);
  } catch {
    throw new UserError(`docker info did not describe the engine's swarm state (${docker.describeEngine()}): is this a Docker engine?`);
  }
  const engine = docker.describeEngine();
  const state = swarm.LocalNodeState ?? "inactive";
  if (state === "locked") throw new UserError(`the swarm of this engine (${engine}) is locked: unlock it with "docker swarm unlock", then try again`);
  if (state !== "active") {
    throw new UserError(
      `this engine (${engine}) is not in swarm mode (${state || "inactive"}): point docker at a Swarm manager (docker --context MANAGER claudeauth swarm secret, or -H), or start a swarm with "docker swarm init"`,
    );
  }
  if (!swarm.ControlAvailable) {
    throw new UserError(`this engine (${engine}) is a Swarm worker, not a manager: point docker at a manager (docker --context MANAGER claudeauth swarm secret, or -H); "docker node ls" there lists them`);
  }
}

// ---------------------------------------------------------------------------------------
// The capture, as the secret will hold it.

async function readCapture(ref: HostStoreRef, docker: Docker, includeRefreshToken: boolean): Promise<SwarmSecret> {
  // The report says why a store cannot serve (never a token); only then are its files read.
  const status = analyze(ref, await readReport(ref, docker));
  if (!status.healthy || !status.capture) {
    const finding = status.findings.find((f) => f.level === "fail");
    throw new UserError(`cannot make a Swarm secret of profile ${ref.profile}: ${finding ? renderFinding(finding) : status.state}`);
  }
  const { generation, files } = await readSwarmSecretFiles(ref, docker, includeRefreshToken);
  return { schema: 1, kind: SWARM_SECRET_KIND, profile: ref.profile, generation, files };
}

// ---------------------------------------------------------------------------------------
// Versions: NAME-GENERATION, created once, labelled as ours.

async function ensureVersion(docker: Docker, ref: HostStoreRef, base: string, secret: SwarmSecret): Promise<Version> {
  const version = describeVersion(base, secret);
  const existing = await secretLabels(docker, version.name);
  if (existing) return reuse(version, base, existing);

  const payload = encodeSwarmSecret(secret);
  if (Buffer.byteLength(payload) > SWARM_SECRET_MAX_BYTES) {
    throw new UserError(`the capture of profile ${ref.profile} is larger than a Swarm secret may be (500 KiB): its .claude.json is too big; log in again with "${suggest("setup", ref)}"`);
  }
  const labels = {
    [PROFILE_LABEL]: ref.profile,
    [BASE_LABEL]: base,
    [GENERATION_LABEL]: String(version.generation),
    [MODE_LABEL]: version.mode,
    [REFRESH_LABEL]: version.refreshToken ? "included" : "omitted",
    ...(version.expiresAt ? { [EXPIRES_LABEL]: version.expiresAt } : {}),
  };
  // The secret goes to docker on stdin, never on a command line.
  const created = await docker.capture(["secret", "create", ...Object.entries(labels).flatMap(([k, v]) => ["--label", `${k}=${v}`]), version.name, "-"], { input: payload });
  if (created.code !== 0) {
    // Another run (a cron on another manager) made it first: the same rules as for one found.
    const raced = /already exists/i.test(created.stderr) ? await secretLabels(docker, version.name) : null;
    if (raced) return reuse(version, base, raced);
    throw docker.failure(`docker secret create ${version.name}`, created);
  }
  log.info(`created the Swarm secret ${version.name} from capture ${version.generation} of profile ${ref.profile}`);
  if (version.refreshToken) warnRefreshToken(version.name);
  return version;
}

/** What the version holds, for its labels (the capture was valid: OAuth credentials, else a long-lived token). */
function describeVersion(base: string, secret: SwarmSecret): Version {
  const parsed = parseCredentials(secret.files[CREDENTIALS_FILE] ?? "");
  const oauth = parsed.ok ? parsed.value.claudeAiOauth : null;
  return {
    name: `${base}-${secret.generation}`,
    generation: secret.generation,
    mode: oauth ? "oauth" : "long-lived",
    refreshToken: Boolean(oauth?.refreshToken),
    expiresAt: oauth ? new Date(oauth.expiresAt).toISOString() : null,
  };
}

/** An existing secret of that name is used only if it is ours, of the same base, and holds what was asked for. */
function reuse(version: Version, base: string, labels: Record<string, string>): Version {
  if (labels[BASE_LABEL] !== base) {
    throw new UserError(
      `a Swarm secret named ${version.name} exists and was not made by docker claudeauth for "${base}" (it is left as it is): remove it if it is stale (docker secret rm ${version.name}), or choose another name with --name`,
    );
  }
  if ((labels[REFRESH_LABEL] === "included") !== version.refreshToken) {
    const held = labels[REFRESH_LABEL] === "included" ? "with" : "without";
    throw new UserError(`the Swarm secret ${version.name} exists ${held} the refresh token: to change that, move its services away and remove it (docker secret rm ${version.name}), or use another --name`);
  }
  log.info(`the Swarm secret ${version.name} exists already (capture ${version.generation})`);
  return version;
}

async function secretLabels(docker: Docker, name: string): Promise<Record<string, string> | null> {
  const result = await docker.capture(["secret", "inspect", "--format", "{{json .Spec.Labels}}", name]);
  if (result.code !== 0) {
    if (/no such secret|not found/i.test(result.stderr)) return null;
    throw docker.failure(`docker secret inspect ${name}`, result);
  }
  return (JSON.parse(result.stdout.trim() || "null") as Record<string, string> | null) ?? {};
}

/** Our versions of `base`, by name. */
async function versions(docker: Docker, base: string): Promise<string[]> {
  const out = await docker.output(["secret", "ls", "--filter", `label=${BASE_LABEL}=${base}`, "--format", "{{.Name}}"], "docker secret ls");
  return out.split("\n").map((l) => l.trim()).filter(Boolean);
}

// ---------------------------------------------------------------------------------------
// Rotation: a service update that swaps the old version for the new one at the same target.

type SecretReference = { SecretName: string; File?: { Name?: string; UID?: string; GID?: string; Mode?: number } };

async function rotate(docker: Docker, service: string, base: string, name: string): Promise<void> {
  const inspected = await docker.capture(["service", "inspect", "--format", "{{json .Spec.TaskTemplate.ContainerSpec.Secrets}}", service]);
  if (inspected.code !== 0) {
    if (/no such service|not found/i.test(inspected.stderr)) throw new UserError(`no service named ${service} on this swarm: "docker service ls" lists them; nothing was changed`);
    throw docker.failure(`docker service inspect ${service}`, inspected);
  }
  const mounted = ((JSON.parse(inspected.stdout.trim() || "null") as SecretReference[] | null) ?? []).filter((s) => s.SecretName);
  if (mounted.some((s) => s.SecretName === name)) {
    log.info(`service ${service} already uses ${name}`);
    return;
  }
  const ours = new Set(await versions(docker, base));
  const old = mounted.filter((s) => ours.has(s.SecretName));
  if (old.length === 0) {
    throw new UserError(`service ${service} mounts no version of the secret ${base}: add it with docker service update --secret-add ${secretFlag(name)} ${service}`);
  }
  const args = ["service", "update", "--detach=false", "--quiet"];
  for (const reference of old) {
    const file = reference.File ?? {};
    args.push("--secret-rm", reference.SecretName, "--secret-add", secretFlag(name, file.Name, file.UID, file.GID, file.Mode));
  }
  await docker.output([...args, service], `moving service ${service} to ${name}`, { timeoutMs: UPDATE_TIMEOUT_MS });
  log.info(`moved service ${service} from ${old.map((s) => s.SecretName).join(", ")} to ${name}`);
}

/** The --secret value: the old reference's target, owner and mode, else root-only at /run/secrets/claudeauth. */
function secretFlag(name: string, target = SWARM_SECRET_TARGET, uid = "0", gid = "0", mode = 0o400): string {
  return `source=${name},target=${target},uid=${uid},gid=${gid},mode=0${mode.toString(8)}`;
}

// ---------------------------------------------------------------------------------------
// Pruning: older versions no service refers to. A job keeps its secrets while it exists,
// finished or not, so a secret it used stays until the job is removed.

type ServiceUse = { name: string; job: boolean; secrets: string[] };

async function prune(docker: Docker, base: string, current: string, command: string): Promise<boolean> {
  const older = (await versions(docker, base)).filter((name) => name !== current);
  if (older.length === 0) return true;
  const services = await serviceUses(docker);
  let ok = true;
  for (const name of older) {
    const users = services.filter((s) => s.secrets.includes(name));
    if (users.length > 0) {
      ok = false;
      log.error(`kept the Swarm secret ${name}: ${await describeUsers(docker, users, current, command)}`);
      continue;
    }
    const removed = await docker.capture(["secret", "rm", name]);
    if (removed.code === 0) log.info(`removed the Swarm secret ${name}`);
    else if (!/no such secret|not found/i.test(removed.stderr)) {
      ok = false;
      log.error(`kept the Swarm secret ${name}: ${docker.failure(`docker secret rm ${name}`, removed).message}`);
    }
  }
  return ok;
}

async function serviceUses(docker: Docker): Promise<ServiceUse[]> {
  const ids = (await docker.output(["service", "ls", "--quiet"], "docker service ls")).split("\n").map((l) => l.trim()).filter(Boolean);
  if (ids.length === 0) return [];
  const format = "{{json .Spec.Name}}\t{{json .Spec.Mode}}\t{{json .Spec.TaskTemplate.ContainerSpec.Secrets}}";
  const out = await docker.output(["service", "inspect", "--format", format, ...ids], "docker service inspect");
  return out
    .split("\n")
    .filter((line) => line.trim())
    .map((line) => {
      const [name, mode, secrets] = line.split("\t").map((field) => JSON.parse(field) as unknown);
      const modeKeys = Object.keys((mode as Record<string, unknown> | null) ?? {});
      return {
        name: String(name),
        job: modeKeys.some((key) => key.endsWith("Job")),
        secrets: ((secrets as SecretReference[] | null) ?? []).map((s) => s.SecretName),
      };
    });
}

/** Who holds a secret, and the fix: rotate a service, remove a job (a finished job keeps its secrets). */
async function describeUsers(docker: Docker, users: ServiceUse[], current: string, command: string): Promise<string> {
  const parts: string[] = [];
  for (const user of users) {
    if (!user.job) {
      parts.push(`service ${user.name} still uses it; move it with "${command} --rotate ${user.name} --prune"`);
      continue;
    }
    const running = await docker.capture(["service", "ps", "--quiet", "--filter", "desired-state=running", user.name]);
    const finished = running.code === 0 && running.stdout.trim() === "";
    parts.push(
      finished
        ? `the finished job ${user.name} still refers to it (a job keeps its secrets until it is removed); remove the job with "docker service rm ${user.name}", then run --prune again`
        : `the job ${user.name} is still running with it; when it is done, remove it with "docker service rm ${user.name}" (jobs started later can use ${current})`,
    );
  }
  return parts.join("; ");
}

// ---------------------------------------------------------------------------------------
// How to use it; for an OAuth login, what happens when its access token expires.

/**
 * A task counts as running only once its first health check passed, and the image checks every
 * 5 minutes (cheap for `docker run`): services check sooner, or each start and each rotation
 * would wait 5 minutes per task; and a single slow check on a busy node must not kill a task.
 */
const HEALTH = "--health-interval 30s --health-retries 3";

/** The production image's defences, as far as services have them (no no-new-privileges in Swarm). */
function serviceHardening(): string[] {
  const tmpfs = WRITABLE_TMPFS.map((spec) => {
    const [target, options = ""] = spec.split(":");
    const size = /size=(\d+)([kmg]?)/.exec(options);
    const bytes = size ? Number(size[1]) * { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[size[2] as "" | "k" | "m" | "g"] : null;
    return `--mount type=tmpfs,target=${target}${bytes ? `,tmpfs-size=${bytes}` : ""}`;
  });
  return ["--cap-drop ALL", ...ENTRYPOINT_CAPABILITIES.map((cap) => `--cap-add ${cap}`), "--read-only", `--limit-pids ${PIDS_LIMIT}`, ...tmpfs, HEALTH];
}

/** This command again, for the same store and name. */
function again(ref: HostStoreRef, base: string): string {
  return `${suggest("swarm secret", ref)}${base === defaultBase(ref) ? "" : ` --name ${base}`}`;
}

function defaultBase(ref: HostStoreRef): string {
  return `claudeauth-${ref.profile}`;
}

function printUsage(ref: HostStoreRef, base: string, version: Version): void {
  const hardening = serviceHardening();
  const lines = [
    `Swarm secret ${version.name}: capture ${version.generation} of profile ${ref.profile}, ${version.mode === "long-lived" ? "long-lived token" : version.refreshToken ? "OAuth login with its refresh token" : "OAuth access token only"}`,
    "",
    "Use it in a service (the image runs claude logged in from /run/secrets/claudeauth, a read-only store):",
    `  docker service create --name SERVICE --secret ${secretFlag(version.name)} \\`,
    `    ${hardening.slice(0, ENTRYPOINT_CAPABILITIES.length + 1).join(" ")} \\`,
    `    ${hardening.slice(ENTRYPOINT_CAPABILITIES.length + 1).join(" ")} \\`,
    `    ${imageName("run")} claude -p "..."`,
    "",
    `Move services to a newer version (after the store changes): ${again(ref, base)} --rotate SERVICE... --prune`,
  ];
  if (version.mode === "oauth") {
    const expires = version.expiresAt ? when(version.expiresAt) : "when its access token does";
    lines.push(
      "",
      `This is an OAuth login: services cannot refresh it (a secret is immutable and read-only). The access token expires ${expires};`,
      "after that, claude in running tasks fails with 401 (not logged in) and new tasks stop before their command, saying so.",
      "Keep services working with a cron job on a manager, every 30 minutes (each rotation replaces the services' tasks):",
      `  */30 * * * * ${suggest("refresh", ref)} --if-expiring-within 2h && ${again(ref, base)} --rotate SERVICE... --prune`,
      `Or give services a token that does not expire for a year: ${suggest("setup --long-lived", ref)}, then ${again(ref, base)} --rotate SERVICE...`,
    );
  }
  print(lines.join("\n"));
}

function warnRefreshToken(name: string): void {
  log.warn(
    `${name} holds the store's refresh token (--include-refresh-token). It gains the services nothing: they never refresh from a secret. ` +
      "It is kept in the Raft log of every manager, in every task that mounts it (for root), and readable by anyone who can create a service on this swarm; " +
      "the store's next refresh spends it, and anyone who spends the copy first makes the token endpoint revoke the whole login (every run logs out). " +
      `Remove it when you can: docker secret rm ${name}`,
  );
}
