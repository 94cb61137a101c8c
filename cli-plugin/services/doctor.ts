import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { CREDENTIALS_FILE, DEFAULT_STORE_IN_CONTAINER } from "../../core/layout";
import { formatDuration, formatRelative } from "../../core/duration";
import { print } from "../../core/output";
import { analyze, quote, suggest } from "../stores/analyze";
import type { Docker } from "../engine/docker";
import { imageExists, imageName } from "../engine/images";
import { METADATA, VERSION } from "../docker-cli/metadata";
import { describeStore, hubRoot, resolveAnyStore, type HostStoreRef, type StoreRef, type StoreSelection } from "../stores/profile";
import type { KubernetesRef } from "../stores/kubernetes";
import { kubernetesChecks } from "./doctor-kubernetes";
import { readReport } from "../stores/backends";
import { stateWord } from "../stores/format";
import { render, type Format } from "../docker-cli/format";
import { rootUserFinding } from "./workload-user";

// doctor: everything that has to be right for `docker claudeauth run` to work, checked in
// order, each finding with the command that fixes it. Covers the seed's troubleshooting
// list: an empty .credentials.json, a permission mismatch, an expired token, a store
// mounted at the wrong path; and clocks that disagree. A k8s:// store's runs happen in its
// pods: for it, doctor checks what setup, status and refresh need from here instead
// (doctor-kubernetes.ts).

export type DoctorOptions = { selection: StoreSelection; format: Format; quiet: boolean; configDir: string | undefined };
export type Check = { name: string; level: "ok" | "warn" | "fail" | "skip"; message: string; fix?: string };

const CLOCK_SKEW_LIMIT_MS = 60_000;

export async function doctor(options: DoctorOptions, docker: Docker): Promise<number> {
  const ref = resolveAnyStore(options.selection);
  const checks = ref.kind === "k8s" ? await kubernetesDoctor(ref, options, docker) : await hostDoctor(ref, options, docker);
  const shown = options.quiet ? checks.filter((c) => c.level === "fail" || c.level === "warn") : checks;
  print(render(options.format, { json: { healthy: checks.every((c) => c.level !== "fail"), checks: shown }, items: shown, table: () => renderChecks(shown) }));
  return checks.some((c) => c.level === "fail") ? 1 : 0;
}

/** A k8s:// store: the plugin, the engine and image only setup needs (a warning when missing), then the cluster's side. */
async function kubernetesDoctor(ref: KubernetesRef, options: DoctorOptions, docker: Docker): Promise<Check[]> {
  const checks: Check[] = [pluginCheck(options.configDir)];
  const engine = await docker.ping();
  const image = imageName("setup");
  if (!engine.ok) {
    checks.push({ name: "docker", level: "warn", message: `cannot reach the Docker engine (${docker.describeEngine()}): ${engine.message}; setup needs it for the login (status, refresh and doctor do not)`, fix: "start the engine (sudo systemctl start docker)" });
  } else if (!(await imageExists(docker, image))) {
    checks.push({ name: "image-setup", level: "warn", message: `image ${image} is missing: setup needs it for the login`, fix: "docker claudeauth build" });
  } else checks.push({ name: "docker", level: "ok", message: `Docker engine reachable and image ${image} present (for setup's login)` });
  checks.push(...(await kubernetesChecks(ref, () => storeChecks(ref, docker))));
  return checks;
}

/** A store on this host (a directory, a volume, a helper's entry): everything `run` needs. */
async function hostDoctor(ref: HostStoreRef, options: DoctorOptions, docker: Docker): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (check: Check) => checks.push(check);

  const engine = await docker.ping();
  if (engine.ok) add({ name: "docker", level: "ok", message: `Docker engine reachable (${docker.describeEngine()}): server ${engine.server}, client ${engine.client}` });
  else {
    add({
      name: "docker",
      level: "fail",
      message: `cannot reach the Docker engine (${docker.describeEngine()}): ${engine.message}`,
      fix: "start the engine (sudo systemctl start docker), or pick a reachable one: docker context ls; docker --context NAME claudeauth doctor",
    });
  }

  add(pluginCheck(options.configDir));
  if (process.getuid?.() === 0) add(rootUserFinding());
  if (engine.ok) {
    for (const kind of ["setup", "run"] as const) {
      const image = imageName(kind);
      const present = await imageExists(docker, image);
      add(
        present
          ? { name: `image-${kind}`, level: "ok", message: `image ${image} present` }
          : { name: `image-${kind}`, level: "fail", message: `image ${image} is missing`, fix: "docker claudeauth build (add --ca-cert FILE behind a TLS-intercepting proxy)" },
      );
    }
    add(await clockCheck(docker));
    if (ref.kind === "dir") add(await remoteEngineCheck(docker, ref));
    checks.push(...(await mountChecks(docker)));
  } else {
    for (const name of ["images", "clock", "containers"]) add({ name, level: "skip", message: `${name}: not checked (no engine)` });
  }

  checks.push(...legacyHubCheck(ref));
  if (ref.kind === "volume" && !engine.ok) add({ name: "store", level: "skip", message: `store ${describeStore(ref)}: not checked (no engine)` });
  else checks.push(...(await storeChecks(ref, docker)));
  return checks;
}

function renderChecks(checks: Check[]): string {
  const tag = { ok: "[ok]  ", warn: "[warn]", fail: "[fail]", skip: "[skip]" } as const;
  const lines = checks.map((c) => `${tag[c.level]} ${c.message}${c.fix ? `\n       fix: ${c.fix}` : ""}`);
  const fails = checks.filter((c) => c.level === "fail").length;
  const warns = checks.filter((c) => c.level === "warn").length;
  lines.push("", fails || warns ? `${fails} problem${fails === 1 ? "" : "s"}, ${warns} warning${warns === 1 ? "" : "s"}` : "no problems found");
  return lines.join("\n");
}

/** The plugin's file name: Docker on Windows looks for docker-NAME.exe only (cli-plugins/manager). */
export const PLUGIN_FILE = process.platform === "win32" ? "docker-claudeauth.exe" : "docker-claudeauth";

// Docker's plugin search order (cli-plugins/manager): config's cliPluginsExtraDirs, the
// config dir's cli-plugins, then the system directories.
export function pluginDirs(configDir: string | undefined): string[] {
  const config = configDir || process.env.DOCKER_CONFIG || path.join(os.homedir(), ".docker");
  let extra: string[] = [];
  try {
    const parsed = JSON.parse(fs.readFileSync(path.join(config, "config.json"), "utf8")) as { cliPluginsExtraDirs?: unknown };
    if (Array.isArray(parsed.cliPluginsExtraDirs)) extra = parsed.cliPluginsExtraDirs.map(String);
  } catch {
    // no config.json: no extra dirs
  }
  if (process.platform === "win32") return [...extra, path.join(config, "cli-plugins"), path.join(process.env.ProgramFiles ?? "C:\\Program Files", "Docker", "cli-plugins")];
  return [
    ...extra,
    path.join(config, "cli-plugins"),
    "/usr/local/lib/docker/cli-plugins",
    "/usr/local/libexec/docker/cli-plugins",
    "/usr/lib/docker/cli-plugins",
    "/usr/libexec/docker/cli-plugins",
  ];
}

function realpath(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    return file;
  }
}

function pluginCheck(configDir: string | undefined): Check {
  const dirs = pluginDirs(configDir);
  const found = dirs.map((dir) => path.join(dir, PLUGIN_FILE)).find((file) => {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  const self = realpath(process.execPath);
  if (!found) {
    return {
      name: "plugin",
      level: "warn",
      message: `docker-claudeauth is not installed where docker looks (${dirs[dirs.length - 5]} and the system plugin dirs): "docker claudeauth" does not work yet`,
      fix: `${quote(self)} install`,
    };
  }
  if (realpath(found) === self) return { name: "plugin", level: "ok", message: `plugin installed: ${found} (version ${VERSION})` };
  let version = "unknown";
  try {
    const text = execFileSync(found, ["docker-cli-plugin-metadata"], { encoding: "utf8", timeout: 5000 });
    version = (JSON.parse(text) as { Version?: string }).Version ?? "unknown";
  } catch {
    // an unusable binary: reported below
  }
  if (version === VERSION) return { name: "plugin", level: "ok", message: `plugin installed: ${found} (version ${version})` };
  return {
    name: "plugin",
    level: "warn",
    message: `docker uses ${found} (version ${version}), not this ${METADATA.Vendor} ${VERSION} (${self})`,
    fix: `${quote(self)} install`,
  };
}

async function clockCheck(docker: Docker): Promise<Check> {
  const before = Date.now();
  const result = await docker.capture(["info", "--format", "{{json .SystemTime}}"]);
  const after = Date.now();
  const engineTime = result.code === 0 ? Date.parse(JSON.parse(result.stdout.trim() || '""') as string) : NaN;
  if (!Number.isFinite(engineTime)) return { name: "clock", level: "skip", message: "engine clock: not reported" };
  const skew = engineTime - (before + after) / 2;
  if (Math.abs(skew) > CLOCK_SKEW_LIMIT_MS + (after - before)) {
    return {
      name: "clock",
      level: "warn",
      message: `the engine's clock is ${formatDuration(Math.abs(skew))} ${skew > 0 ? "ahead of" : "behind"} this machine's: token expiry is judged by the containers' clock`,
      fix: "sudo timedatectl set-ntp true (on both machines)",
    };
  }
  return { name: "clock", level: "ok", message: `clocks agree (engine and host within ${formatDuration(Math.max(Math.abs(skew), 1000))})` };
}

async function remoteEngineCheck(docker: Docker, ref: HostStoreRef & { kind: "dir" }): Promise<Check> {
  const endpoint = await docker.endpoint();
  if (endpoint && !endpoint.startsWith("unix://") && !endpoint.startsWith("npipe://")) {
    return {
      name: "engine-location",
      level: "warn",
      message: `the engine is at ${endpoint}: a host directory (${ref.path}) means nothing to an engine on another machine`,
      fix: `use a volume: ${suggest("setup", { kind: "volume", profile: ref.profile, volume: `claudeauth-${ref.profile}` })}`,
    };
  }
  return { name: "engine-location", level: "ok", message: `the engine is local (${endpoint ?? "unix socket"}): host-dir stores work` };
}

type Inspected = {
  Name?: string;
  Config?: { Image?: string; Env?: string[] | null };
  Mounts?: { Type?: string; Source?: string; Name?: string; Destination?: string }[] | null;
  State?: { Status?: string };
};

/** Containers of our images that mount the store somewhere the entrypoint does not look. */
async function mountChecks(docker: Docker): Promise<Check[]> {
  const ids = new Set<string>();
  for (const kind of ["setup", "run"] as const) {
    const result = await docker.capture(["ps", "-a", "--quiet", "--no-trunc", "--filter", `ancestor=${imageName(kind)}`]);
    if (result.code === 0) for (const id of result.stdout.split("\n").filter(Boolean)) ids.add(id.trim());
  }
  if (ids.size === 0) return [{ name: "mounts", level: "ok", message: "no claudeauth containers to check for store mounts" }];
  const result = await docker.capture(["inspect", ...ids]);
  let containers: Inspected[] = [];
  try {
    containers = JSON.parse(result.stdout) as Inspected[];
  } catch {
    return [{ name: "mounts", level: "skip", message: "could not inspect the claudeauth containers" }];
  }
  const checks: Check[] = [];
  for (const container of containers) {
    const name = (container.Name ?? "").replace(/^\//, "");
    const env = Object.fromEntries((container.Config?.Env ?? []).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
    const expected = env.CLAUDEAUTH_STORE || DEFAULT_STORE_IN_CONTAINER;
    const mounts = container.Mounts ?? [];
    if (mounts.some((m) => m.Destination === expected)) continue;
    const likely = mounts.find((m) => /\.claude|claude-hub|claudeauth|\/store$/.test(`${m.Source ?? ""} ${m.Name ?? ""} ${m.Destination ?? ""}`));
    const source = likely ? (likely.Type === "volume" ? likely.Name : likely.Source) ?? "the store" : "the store";
    checks.push({
      name: "mounts",
      level: "fail",
      message: likely
        ? `container ${name} mounts ${source} at ${likely.Destination}, but the entrypoint reads the store at ${expected}: it finds no credentials ("not logged in")`
        : `container ${name} (${container.Config?.Image}) mounts no store at ${expected}: it finds no credentials ("not logged in")`,
      fix: `docker rm -f ${name}; mount the store at ${expected} (-v ${source === "the store" ? "STORE" : source}:${expected}), or start it with: docker claudeauth run`,
    });
  }
  if (checks.length === 0) checks.push({ name: "mounts", level: "ok", message: `${containers.length} claudeauth container(s) mount the store at ${DEFAULT_STORE_IN_CONTAINER}` });
  return checks;
}

/** The seed's scripts kept ~/.claude's layout right in $CLAUDE_HUB_DIR (~/.claude-hub). */
function legacyHubCheck(ref: HostStoreRef): Check[] {
  if (ref.kind !== "dir" || ref.source === "--store") return [];
  const root = hubRoot();
  const credentials = path.join(root, CREDENTIALS_FILE);
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(credentials);
  } catch {
    return [];
  }
  const empty = stat.isFile() && stat.size === 0;
  return [
    {
      name: "legacy-capture",
      level: "warn",
      message: `${root} holds a copy of ~/.claude made by the old setup scripts${empty ? " and its .credentials.json is empty: that login was never completed" : ""}; claudeauth keeps each profile in ${path.join(root, "PROFILE")} and does not read it`,
      fix: suggest("setup", ref),
    },
  ];
}

async function storeChecks(ref: StoreRef, docker: Docker): Promise<Check[]> {
  let status;
  try {
    status = analyze(ref, await readReport(ref, docker));
  } catch (error) {
    return [{ name: "store", level: "fail", message: `cannot read ${describeStore(ref)}: ${(error as Error).message}`, fix: suggest("status", ref) }];
  }
  const checks: Check[] = [];
  const where = `store ${describeStore(ref)} (profile ${ref.profile})`;
  if (status.healthy) {
    const expiry = status.accessToken ? `, access token expires ${formatRelative(status.accessToken.expiresInMs)}` : "";
    checks.push({ name: "store", level: "ok", message: `${where}: ${stateWord(status)}, ${status.mode}${expiry}` });
  }
  for (const finding of status.findings) {
    checks.push({ name: "store", level: finding.level === "note" ? "ok" : finding.level, message: `${where}: ${finding.message}`, ...(finding.fix ? { fix: finding.fix } : {}) });
  }
  return checks;
}
