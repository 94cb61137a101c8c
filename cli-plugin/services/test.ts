import { UserError } from "../../core/errors";
import { print } from "../../core/output";
import { redact } from "../../core/redact";
import { formatDuration } from "../../core/duration";
import { suggest } from "../stores/analyze";
import { containerName, firstLine, type Docker } from "../engine/docker";
import { requireImage } from "../engine/images";
import { envFlags, mountFlags, type ContainerOptions } from "../engine/passthrough";
import { describeStore, resolveStore, type HostStoreRef, type StoreSelection } from "../stores/profile";
import { productionRunFlags, requireStore } from "./run";
import { render, type Format } from "../docker-cli/format";
import { withContainerStore } from "../stores/container-store";

// test: one real request, the cheapest there is, from a production container: does the
// API accept this profile's login? The answer is one of four, each with the next step.

export type CheckOptions = ContainerOptions & {
  selection: StoreSelection;
  timeoutMs: number;
  format: Format;
  quiet: boolean;
};

export type Verdict = {
  result: "ok" | "token-rejected" | "not-logged-in" | "network" | "error";
  detail: string;
  next: string | null;
};

const CHECK_COMMAND = ["claude", "-p", "test", "--no-session-persistence", "--output-format", "json"];

export async function check(options: CheckOptions, docker: Docker): Promise<number> {
  const ref = resolveStore(options.selection);
  const env = envFlags(options.env, "docker claudeauth test");
  const verdict = await runCheck(ref, options, env, docker);
  const table = () => `${LABEL[verdict.result]}: ${verdict.detail}${verdict.next ? `\n  next: ${verdict.next}` : ""}`;
  if (!options.quiet) print(render(options.format, { json: { profile: ref.profile, store: describeStore(ref), ...verdict }, table }));
  return verdict.result === "ok" ? 0 : 1;
}

const LABEL: Record<Verdict["result"], string> = {
  ok: "ok",
  "token-rejected": "token rejected",
  "not-logged-in": "not logged in",
  network: "network unreachable",
  error: "error",
};

async function runCheck(ref: HostStoreRef, options: CheckOptions, env: string[], docker: Docker): Promise<Verdict> {
  try {
    await requireStore(ref, docker);
  } catch (error) {
    if (!(error instanceof UserError) || !/^not logged in/.test(error.message)) throw error;
    return { result: "not-logged-in", detail: `profile ${ref.profile} has no store at ${describeStore(ref)}`, next: suggest("setup", ref) };
  }
  const mounts = await mountFlags(options.volumes, options.mounts, ref, docker);
  const image = await requireImage(docker, "run", options.image);
  const name = containerName("test", ref.profile);
  const args = (store: string[]) => [
    ...productionRunFlags(ref, name, options.network, options.hardening, store),
    "-e", "CLAUDE_CODE_MAX_RETRIES=0",
    ...env,
    ...mounts,
    image,
    ...CHECK_COMMAND,
  ];
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  const started = Date.now();
  const outcome = await withContainerStore(ref, docker, (store) =>
    docker.stream(args(store), {
      stdin: "ignore",
      container: name,
      timeoutMs: options.timeoutMs,
      onStdout: (chunk) => stdout.push(chunk),
      onStderr: (chunk) => stderr.push(chunk),
    }),
  );
  return classify({
    code: outcome.code,
    timedOut: outcome.timedOut,
    stdout: Buffer.concat(stdout).toString("utf8"),
    stderr: Buffer.concat(stderr).toString("utf8"),
    ms: Date.now() - started,
    ref,
    timeoutMs: options.timeoutMs,
  });
}

type Outcome = { code: number; timedOut: boolean; stdout: string; stderr: string; ms: number; ref: HostStoreRef; timeoutMs: number };

const NETWORK = /Unable to connect|Connection error|ConnectionRefused|ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|getaddrinfo|fetch failed|network|socket hang up|timed out|no answer from/i;
const NOT_LOGGED_IN = /Not logged in|Please run \/login|holds no capture|no store mounted|not logged in/i;
const REJECTED = /rejected the store's refresh token|invalid_grant|OAuth token has expired|OAuth token (was )?revoked|Invalid (API key|bearer token)|authentication_error|401|403/i;

export function classify(outcome: Outcome): Verdict {
  const { ref } = outcome;
  const setup = suggest("setup", ref);
  const result = lastResultJson(outcome.stdout);
  const stderr = outcome.stderr;
  const networkNext = `check the network the container gets (--network; a proxy needs -e HTTPS_PROXY), then run "${suggest("test", ref)}" again`;

  if (outcome.timedOut) {
    return { result: "network", detail: `no answer within ${formatDuration(outcome.timeoutMs)}`, next: networkNext };
  }
  if (result) {
    const text = typeof result.result === "string" ? redact(result.result) : "";
    const status = typeof result.api_error_status === "number" ? result.api_error_status : null;
    if (result.is_error === false) {
      return { result: "ok", detail: `the Claude API accepted profile ${ref.profile}'s login (answered in ${formatDuration(outcome.ms)})`, next: null };
    }
    if (status === 401 || status === 403 || (REJECTED.test(text) && !NOT_LOGGED_IN.test(text))) {
      return { result: "token-rejected", detail: `the API rejected the token${status ? ` (HTTP ${status})` : ""}: ${text}`, next: `log in again: ${setup}` };
    }
    if (NOT_LOGGED_IN.test(text)) return { result: "not-logged-in", detail: `the Claude CLI says: ${text}`, next: setup };
    if (NETWORK.test(text)) return { result: "network", detail: `the Claude CLI could not reach the API: ${text}`, next: networkNext };
    return { result: "error", detail: `the Claude CLI failed: ${text || `exit code ${outcome.code}`}`, next: `look at "${suggest("doctor", ref)}"` };
  }
  const line = lastMeaningfulLine(stderr);
  if (/rejected the store's refresh token|invalid_grant/i.test(stderr)) {
    return { result: "token-rejected", detail: `the token endpoint rejected the store's refresh token`, next: `log in again: ${setup}` };
  }
  if (NOT_LOGGED_IN.test(stderr)) return { result: "not-logged-in", detail: line || "the store holds no login", next: setup };
  if (outcome.code === 125) return { result: "error", detail: `docker could not start the container: ${line}`, next: `look at "${suggest("doctor", ref)}"` };
  if (NETWORK.test(stderr)) return { result: "network", detail: line, next: networkNext };
  return {
    result: "error",
    detail: `the check ended with exit code ${outcome.code}${line ? `: ${line}` : ""}`,
    next: `look at "${suggest("doctor", ref)}"`,
  };
}

function lastResultJson(stdout: string): Record<string, unknown> | null {
  const lines = stdout.split("\n").map((l) => l.trim()).filter((l) => l.startsWith("{"));
  for (const line of lines.reverse()) {
    try {
      const value = JSON.parse(line) as Record<string, unknown>;
      if (value.type === "result" || "is_error" in value) return value;
    } catch {
      // not the result line
    }
  }
  return null;
}

function lastMeaningfulLine(text: string): string {
  const lines = text.split("\n").map((l) => l.trim()).filter(Boolean);
  const line = lines.length ? lines[lines.length - 1]! : firstLine(text);
  return redact(line.replace(/^claudeauth: (error: )?/, "the entrypoint says: "));
}
