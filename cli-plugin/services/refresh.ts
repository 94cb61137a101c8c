import { UserError, errorMessage } from "../../core/errors";
import { ensureFresh, tokenEndpointFromEnv } from "../../core/refresh";
import { formatDuration, parseDuration } from "../../core/duration";
import { configureOutput, log, print as printLine } from "../../core/output";
import { isConnectionFailure, NETWORK_HINT } from "./network-hint";
import { redact } from "../../core/redact";
import { analyze, suggest } from "../stores/analyze";
import { containerName, type Docker } from "../engine/docker";
import { renderFinding, when } from "../stores/format";
import { requireImage } from "../engine/images";
import { envFlags, mountFlags, type ContainerOptions } from "../engine/passthrough";
import { resolveAnyStore, type HostStoreRef, type StoreSelection } from "../stores/profile";
import { openKubernetesStore, type KubernetesRef } from "../stores/kubernetes";
import { productionRunFlags, requireStore } from "./run";
import { readReport } from "../stores/backends";
import { withContainerStore } from "../stores/container-store";

// refresh: for cron and systemd timers. The production image's entrypoint spends the
// refresh token under the store lock (single-flight with any run in progress) and commits
// the rotated pair. With --if-expiring-within, a host-dir, helper or k8s:// store that is
// fresh enough is left alone without starting a container. A k8s:// store is refreshed
// in this process by the same core as in its pods (core/refresh.ts), under its Lease, with
// the user's kubeconfig: the API server is often reachable from here only.

export type RefreshOptions = ContainerOptions & {
  selection: StoreSelection;
  ifExpiringWithin: string | undefined;
  /** Nothing but errors (cron mails only what matters). */
  quiet: boolean;
};

// "Refresh now": a margin longer than any access token lives.
const ALWAYS = "3650d";

export async function refresh(options: RefreshOptions, docker: Docker): Promise<number> {
  const ref = resolveAnyStore(options.selection);
  const print = options.quiet ? () => undefined : printLine;
  const margin = options.ifExpiringWithin ?? ALWAYS;
  const marginMs = parseDuration(margin);
  if (ref.kind === "k8s") refuseContainerOptions(ref, options);
  else await requireStore(ref, docker);

  let beforeGeneration: number | null = null;
  if (ref.kind !== "volume") {
    const before = analyze(ref, await readReport(ref, docker));
    if (before.mode === "long-lived") {
      print(`profile ${ref.profile} uses a long-lived token: nothing to refresh`);
      return 0;
    }
    if (before.state === "missing" || before.state === "empty" || before.state === "invalid" || before.state === "unreadable") {
      throw new UserError(`cannot refresh profile ${ref.profile}: ${before.findings[0]?.message ?? before.state}${before.findings[0]?.fix ? `; fix: ${before.findings[0].fix}` : ""}`);
    }
    if (before.refreshToken && !before.refreshToken.present) {
      throw new UserError(`profile ${ref.profile} has no refresh token: log in again with "${suggest("setup", ref)}"`);
    }
    beforeGeneration = before.capture?.generation ?? null;
    if (options.ifExpiringWithin && before.accessToken && before.accessToken.expiresInMs > marginMs) {
      print(`access token valid for more than ${formatDuration(marginMs)} (expires ${when(before.accessToken.expiresAt)}): nothing to do`);
      return 0;
    }
  }

  const said = ref.kind === "k8s" ? await refreshInProcess(ref, marginMs, options.quiet) : await refreshInContainer(ref, options, margin, docker);
  const after = analyze(ref, await readReport(ref, docker));
  const generation = after.capture?.generation ?? null;
  if (after.accessToken && (ref.kind === "volume" || generation !== beforeGeneration)) {
    const verb = ref.kind === "volume" ? "checked" : "refreshed";
    print(`${verb} profile ${ref.profile}: access token expires ${when(after.accessToken.expiresAt)} (capture #${generation})`);
  } else if (after.accessToken) {
    print(`profile ${ref.profile} was not refreshed (another run may have just done it): access token expires ${when(after.accessToken.expiresAt)}`);
  } else print(said);
  for (const finding of after.findings) if (finding.level === "fail") log.warn(renderFinding(finding));
  return after.healthy ? 0 : 1;
}

/** The entrypoint's refresh mode in a throw-away production container: what it printed; its error line, if it fails. */
async function refreshInContainer(ref: HostStoreRef, options: RefreshOptions, margin: string, docker: Docker): Promise<string> {
  const env = envFlags(options.env, "docker claudeauth refresh");
  const mounts = await mountFlags(options.volumes, options.mounts, ref, docker);
  const image = await requireImage(docker, "run", options.image);
  const name = containerName("refresh", ref.profile);
  const args = (store: string[]) => [
    ...productionRunFlags(ref, name, options.network, options.hardening, store),
    ...env,
    ...mounts,
    "--entrypoint", "/usr/bin/tini",
    image,
    "-g", "--", "/usr/local/bin/claudeauth-entrypoint", "refresh", "--refresh-margin", margin,
  ];
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  const outcome = await withContainerStore(ref, docker, (store) =>
    docker.stream(args(store), { stdin: "ignore", container: name, onStdout: (c) => stdout.push(c), onStderr: (c) => stderr.push(c) }),
  );
  const errors = Buffer.concat(stderr).toString("utf8").split("\n").map((l) => l.trim()).filter(Boolean);
  if (outcome.code !== 0) {
    const last = redact((errors.pop() ?? `exit code ${outcome.code}`).replace(/^claudeauth: (error: )?(internal error: )?/, ""));
    // The entrypoint's own advice names no plugin flag: ours replaces it, so it is said once.
    const reason = isConnectionFailure(last) ? `${last.replace(/: check the container's network.*$/, "")}; ${NETWORK_HINT}` : last;
    throw new UserError(`refresh failed: ${reason}`, outcome.code === 125 ? 125 : 1);
  }
  if (!options.quiet) for (const line of errors) log.info(line);
  return redact(Buffer.concat(stdout).toString("utf8").trim());
}

/**
 * A k8s:// store: the core's refresh, in-process, with the kubeconfig's credentials; the
 * token endpoint is reached from here (HTTPS_PROXY, NODE_EXTRA_CA_CERTS and
 * CLAUDEAUTH_TOKEN_URL from this environment, as the entrypoint reads them).
 */
async function refreshInProcess(ref: KubernetesRef, marginMs: number, quiet: boolean): Promise<string> {
  // --quiet: the core's notes (waiting for the Lease, a rescue adopted) are not said either.
  if (quiet) configureOutput({ quiet });
  try {
    await ensureFresh(openKubernetesStore(ref), tokenEndpointFromEnv(), marginMs, { by: "plugin" });
    return "";
  } catch (error) {
    const message = redact(errorMessage(error)).replace(/^cannot refresh: /, "");
    const reason = isConnectionFailure(message) && /token endpoint/.test(message) ? `${message.replace(/: check the container's network.*$/, "")}; ${HOST_NETWORK_HINT}` : message;
    throw new UserError(`refresh failed: ${reason}`, error instanceof UserError && error.exitCode === 125 ? 125 : 1);
  }
}

const HOST_NETWORK_HINT = "this machine could not reach Anthropic: check its network, set HTTPS_PROXY behind a proxy, and NODE_EXTRA_CA_CERTS=FILE behind one that intercepts TLS";

/** A k8s:// store is refreshed in this process: the refresh container's options would do nothing, so they are refused. */
function refuseContainerOptions(ref: KubernetesRef, options: RefreshOptions): void {
  const given = [
    options.network !== undefined && "--network",
    options.image !== undefined && "--image",
    options.env.length > 0 && "-e",
    options.volumes.length > 0 && "-v",
    options.mounts.length > 0 && "--mount",
  ].filter(Boolean);
  if (given.length > 0) {
    throw new UserError(
      `${given.join(", ")} set up a refresh container, but ${ref.address} is refreshed in this process with your kubeconfig: leave ${given.length === 1 ? "it" : "them"} out (set HTTPS_PROXY or NODE_EXTRA_CA_CERTS in this shell instead)`,
      125,
    );
  }
}
