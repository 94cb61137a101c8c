import { UserError } from "../../core/errors";
import { formatDuration, parseDuration } from "../../core/duration";
import { log, print } from "../../core/output";
import { redact } from "../../core/redact";
import { analyze, suggest } from "../stores/analyze";
import { containerName, type Docker, type Hardening } from "../engine/docker";
import { renderFinding, when } from "../stores/format";
import { requireImage } from "../engine/images";
import { envFlags, mountFlags } from "../engine/passthrough";
import { resolveStore, type StoreSelection } from "../stores/profile";
import { productionRunFlags, requireStore } from "./run";
import { readReport } from "../stores/backends";

// refresh: for cron and systemd timers. The production image's entrypoint spends the
// refresh token under the store lock (single-flight with any run in progress) and commits
// the rotated pair. With --if-expiring-within, a host-dir store that is fresh enough is
// left alone without starting a container.

export type RefreshOptions = {
  selection: StoreSelection;
  ifExpiringWithin: string | undefined;
  network: string | undefined;
  image: string | undefined;
  env: string[];
  volumes: string[];
  mounts: string[];
  hardening: Hardening;
};

// "Refresh now": a margin longer than any access token lives.
const ALWAYS = "3650d";

export async function refresh(options: RefreshOptions, docker: Docker): Promise<number> {
  const ref = resolveStore(options.selection);
  const env = envFlags(options.env, "docker claudeauth refresh");
  const margin = options.ifExpiringWithin ?? ALWAYS;
  const marginMs = parseDuration(margin);
  await requireStore(ref, docker);

  let beforeGeneration: number | null = null;
  if (ref.kind === "dir") {
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
  const args = [
    ...productionRunFlags(ref, name, options.network, options.hardening),
    ...env,
    ...mounts,
    "--entrypoint", "/usr/bin/tini",
    image,
    "-g", "--", "/usr/local/bin/claudeauth-entrypoint", "refresh", "--refresh-margin", margin,
  ];
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  const outcome = await docker.stream(args, { stdin: "ignore", container: name, onStdout: (c) => stdout.push(c), onStderr: (c) => stderr.push(c) });
  const errors = Buffer.concat(stderr).toString("utf8").split("\n").map((l) => l.trim()).filter(Boolean);
  if (outcome.code !== 0) {
    const last = redact((errors.pop() ?? `exit code ${outcome.code}`).replace(/^claudeauth: (error: )?(internal error: )?/, ""));
    const unreachable = /EAI_AGAIN|ENOTFOUND|ECONNREFUSED|ETIMEDOUT|ECONNRESET|no answer from|getaddrinfo|proxy/i.test(last);
    const hint = unreachable ? `; the container could not reach the token endpoint: check --network (and -e HTTPS_PROXY behind a proxy)` : "";
    throw new UserError(`refresh failed: ${last}${hint}`, outcome.code === 125 ? 125 : 1);
  }
  for (const line of errors) log.info(line);
  const after = analyze(ref, await readReport(ref, docker));
  const generation = after.capture?.generation ?? null;
  if (after.accessToken && (ref.kind === "volume" || generation !== beforeGeneration)) {
    const verb = ref.kind === "dir" ? "refreshed" : "checked";
    print(`${verb} profile ${ref.profile}: access token expires ${when(after.accessToken.expiresAt)} (capture #${generation})`);
  } else if (after.accessToken) {
    print(`profile ${ref.profile} was not refreshed (another run may have just done it): access token expires ${when(after.accessToken.expiresAt)}`);
  } else print(redact(Buffer.concat(stdout).toString("utf8").trim()));
  for (const finding of after.findings) if (finding.level === "fail") log.warn(renderFinding(finding));
  return after.healthy ? 0 : 1;
}
