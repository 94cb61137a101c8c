import { UserError } from "../../core/errors";
import { formatDuration, parseDuration } from "../../core/duration";
import { log, print as printLine } from "../../core/output";
import { isConnectionFailure, NETWORK_HINT } from "./network-hint";
import { redact } from "../../core/redact";
import { analyze, suggest } from "../stores/analyze";
import { containerName, type Docker } from "../engine/docker";
import { renderFinding, when } from "../stores/format";
import { requireImage } from "../engine/images";
import { envFlags, mountFlags, type ContainerOptions } from "../engine/passthrough";
import { resolveStore, type StoreSelection } from "../stores/profile";
import { productionRunFlags, requireStore } from "./run";
import { readReport } from "../stores/backends";
import { withContainerStore } from "../stores/container-store";

// refresh: for cron and systemd timers. The production image's entrypoint spends the
// refresh token under the store lock (single-flight with any run in progress) and commits
// the rotated pair. With --if-expiring-within, a host-dir or helper store that is fresh
// enough is left alone without starting a container.

export type RefreshOptions = ContainerOptions & {
  selection: StoreSelection;
  ifExpiringWithin: string | undefined;
  /** Nothing but errors (cron mails only what matters). */
  quiet: boolean;
};

// "Refresh now": a margin longer than any access token lives.
const ALWAYS = "3650d";

export async function refresh(options: RefreshOptions, docker: Docker): Promise<number> {
  const ref = resolveStore(options.selection);
  const print = options.quiet ? () => undefined : printLine;
  const env = envFlags(options.env, "docker claudeauth refresh");
  const margin = options.ifExpiringWithin ?? ALWAYS;
  const marginMs = parseDuration(margin);
  await requireStore(ref, docker);

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
  const after = analyze(ref, await readReport(ref, docker));
  const generation = after.capture?.generation ?? null;
  if (after.accessToken && (ref.kind === "volume" || generation !== beforeGeneration)) {
    const verb = ref.kind === "volume" ? "checked" : "refreshed";
    print(`${verb} profile ${ref.profile}: access token expires ${when(after.accessToken.expiresAt)} (capture #${generation})`);
  } else if (after.accessToken) {
    print(`profile ${ref.profile} was not refreshed (another run may have just done it): access token expires ${when(after.accessToken.expiresAt)}`);
  } else print(redact(Buffer.concat(stdout).toString("utf8").trim()));
  for (const finding of after.findings) if (finding.level === "fail") log.warn(renderFinding(finding));
  return after.healthy ? 0 : 1;
}
