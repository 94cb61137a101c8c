// Who used the login, and what would quietly override it. Through the compiled plugin, the
// real engine and images and the real Claude CLI, with the fake endpoint on loopback:
// `events` lists the setup, the run (container, image, host), the refreshes with the
// endpoint's answer and the login a workload planted, and the log holds no token; `status`
// shows the last refresh and run; API keys in a run's environment and an apiKeyHelper or
// key in the captured settings are said in one line each by run, status and doctor; in
// long-lived mode the CLI's Bash tool runs without the token in its environment.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serializeJson } from "../../core/credentials";
import { EVENTS_FILE, type AuditEvent } from "../../core/events";
import { startFakeAnthropic, type FakeAnthropic } from "../fake-anthropic";
import { claudeJsonText, fakeToken, loginScript } from "../support/fixtures";
import { ensureImages, makeSandbox, plugin, RUN_IMAGE, scriptsDir, testVolume, writeScript, type Sandbox } from "../support/docker";
import { findTokens, trackSecret } from "../support/token-scan";

const CA_IN_CONTAINER = "/etc/claudeauth-test-ca.pem";
let fake: FakeAnthropic;
let sandbox: Sandbox;
let endpoint: string[];
let scripts: string;

beforeAll(async () => {
  await ensureImages();
  fake = await startFakeAnthropic();
  sandbox = makeSandbox("audit");
  scripts = scriptsDir(sandbox);
  endpoint = ["--network", "host", "-e", `HTTPS_PROXY=${fake.proxyUrl}`, "-e", `NODE_EXTRA_CA_CERTS=${CA_IN_CONTAINER}`, "-v", `${fake.caPath}:${CA_IN_CONTAINER}:ro`];
});

afterAll(async () => {
  await sandbox?.cleanup();
  await fake?.close();
});

/** setup with a scripted login (the fake's tokens, written as the CLI writes them), plus a settings.json when given. */
async function setupProfile(profile: string, options: { accessTokenTtlSeconds?: number; settings?: unknown } = {}) {
  const credentials = { claudeAiOauth: fake.login(options.accessTokenTtlSeconds ? { accessTokenTtlSeconds: options.accessTokenTtlSeconds } : {}) };
  const settings = options.settings ? `mkdir -p "$HOME/.claude"; printf '%s' '${JSON.stringify(options.settings)}' > "$HOME/.claude/settings.json"` : "";
  writeScript(scripts, `login-${profile}.sh`, loginScript({ credentials: serializeJson(credentials), claudeJson: claudeJsonText(`${profile}@example.com`), before: settings }));
  const setup = await plugin(sandbox, ["setup", "--profile", profile, "--no-tty", "--network", "none", "-v", `${scripts}:/scripts:ro`, "--", `/scripts/login-${profile}.sh`]);
  expect(setup.exitCode, setup.output).toBe(0);
}

async function events(args: string[]): Promise<AuditEvent[]> {
  const run = await plugin(sandbox, ["events", ...args, "--format", "json"]);
  expect(run.exitCode, run.output).toBe(0);
  return JSON.parse(run.stdout) as AuditEvent[];
}

describe("the audit trail", { timeout: 300_000 }, () => {
  it("events lists the setup, the run with its container, image and host, the refreshes with the endpoint's answer, and the refused planted login; no token anywhere", async () => {
    await setupProfile("audit", { accessTokenTtlSeconds: 300 }); // inside the 15 min margin: the run refreshes first
    // The workload uses the CLI, then plants a login of its own (tokens the store never issued).
    const planted = { claudeAiOauth: { accessToken: fakeToken("oat", "planted"), refreshToken: fakeToken("ort", "planted"), expiresAt: Date.now() + 3600_000, scopes: ["user:inference"] } };
    writeScript(
      scripts,
      "use-and-plant.sh",
      `set -e\nclaude -p hello --no-session-persistence --output-format json </dev/null >/dev/null\ncat > "$CLAUDE_CONFIG_DIR/.credentials.json" <<'EOF'\n${serializeJson(planted)}EOF\n`,
    );
    const name = `claudeauth-audit-${process.pid}`;
    const run = await plugin(sandbox, ["run", "--profile", "audit", "--no-workspace", "--no-tty", "--name", name, ...endpoint, "-v", `${scripts}:/scripts:ro`, "--", "/scripts/use-and-plant.sh"]);
    expect(run.exitCode, run.output).toBe(0);
    expect(run.stderr).toMatch(/not written back: the workload logged in afresh/);

    // A busy token endpoint: the plugin's refresh waits as told and says so.
    fake.throttleTokenRequests(1, { retryAfter: "1" });
    const refresh = await plugin(sandbox, ["refresh", "--profile", "audit", ...endpoint]);
    expect(refresh.exitCode, refresh.output).toBe(0);
    expect(refresh.stderr).toMatch(/answered HTTP 429 \(Retry-After 1\): trying again in [12]s \(attempt 2 of 4\)/);

    const log = await events(["--profile", "audit"]);
    const runStart = { kind: "run-start", by: "entrypoint", container: name, image: RUN_IMAGE, host: os.hostname() };
    expect(log).toEqual([
      expect.objectContaining({ kind: "setup", outcome: "login", generation: 1 }),
      expect.objectContaining({ kind: "refresh", outcome: "ok", generation: 2, container: name }),
      expect.objectContaining({ ...runStart, generation: 2 }),
      expect.objectContaining({ kind: "refused", outcome: "planted-login", container: name }),
      expect.objectContaining({ kind: "run-end", container: name, exitCode: 0 }),
      expect.objectContaining({ kind: "refresh", outcome: "ok", generation: 3, container: expect.stringMatching(/^claudeauth-refresh-audit-/), host: os.hostname() }),
    ]);
    for (const event of log) expect(Date.parse(event.time)).toBeGreaterThan(Date.now() - 600_000);

    const table = await plugin(sandbox, ["events", "--profile", "audit"]);
    expect(table.stdout.split("\n")[0]).toMatch(/^TIME +EVENT +OUTCOME +CONTAINER +DETAIL$/);
    expect(table.stdout).toMatch(new RegExp(`run-start +- +${name} `));
    expect((await plugin(sandbox, ["events", "--profile", "audit", "--since", "0s"])).stdout.trim()).toBe("no events in the last 0s");
    const template = await plugin(sandbox, ["events", "--profile", "audit", "--format", "{{.Kind}} {{.Outcome}}"]);
    expect(template.stdout.trim().split("\n")).toEqual(["setup login", "refresh ok", "run-start ", "refused planted-login", "run-end ", "refresh ok"]);
    const badFormat = await plugin(sandbox, ["events", "--profile", "audit", "--format", "yaml"]);
    expect([badFormat.exitCode, badFormat.stderr.trim()]).toEqual([125, `error: unsupported --format "yaml": use table, json or a template like "{{.Field}}" (see 'docker claudeauth events --help')`]);

    // The file itself: no token shape, no slice of any token the fake or the test made.
    const text = fs.readFileSync(path.join(sandbox.hub, "audit", EVENTS_FILE), "utf8");
    expect(findTokens(text)).toEqual([]);
    expect(fs.statSync(path.join(sandbox.hub, "audit", EVENTS_FILE))).toMatchObject({ mode: 0o100600, uid: process.getuid!() });

    const status = await plugin(sandbox, ["status", "--profile", "audit", "--json"]);
    expect(JSON.parse(status.stdout)).toMatchObject({ lastRefresh: { outcome: "ok", generation: 3 }, lastRun: { container: name, image: RUN_IMAGE } });
    const text2 = await plugin(sandbox, ["status", "--profile", "audit", "--no-files"]);
    expect(text2.stdout).toMatch(/^Last refresh: +ok, .* ago \(/m);
    expect(text2.stdout).toMatch(new RegExp(`^Last run: +${name} \\(${RUN_IMAGE.replace(/[.:/]/g, "\\$&")}\\) on ${os.hostname()}, .* ago`, "m"));
  });

  it("a volume store: the entrypoint writes the log there and events reads it through the entrypoint's inspect report", async () => {
    const volume = testVolume("events");
    const token = fake.issueLongLivedToken();
    trackSecret(token);
    const setup = await plugin(sandbox, ["setup", "--store-volume", volume, "--token-stdin"], { input: `${token}\n` });
    expect(setup.exitCode, setup.output).toBe(0);
    expect(await events(["--store-volume", volume])).toEqual([expect.objectContaining({ kind: "import", by: "entrypoint", outcome: "long-lived", generation: 1 })]);
  });

  it("an event log that does not read (a planted symlink): events says so in one line, status only warns (runs still work)", async () => {
    const log = path.join(sandbox.hub, "audit", EVENTS_FILE);
    fs.renameSync(log, `${log}.saved`);
    fs.symlinkSync("/etc/passwd", log);
    try {
      const listed = await plugin(sandbox, ["events", "--profile", "audit"]);
      expect(listed.exitCode).toBe(1);
      expect(listed.stderr.trim()).toMatch(/^error: the store's event log does not read \(.*\): move it aside$/);
      const status = await plugin(sandbox, ["status", "--profile", "audit", "--json"]);
      expect(status.exitCode, status.output).toBe(0);
      expect(JSON.parse(status.stdout).warnings.map((w: { message: string }) => w.message)).toContainEqual(expect.stringMatching(/^the store's event log does not read \(.*\): runs work, but no event is recorded/));
    } finally {
      fs.rmSync(log);
      fs.renameSync(`${log}.saved`, log);
    }
  });
});

describe("override warnings", () => {
  const settings = { apiKeyHelper: "/bin/echo not-a-key", env: { ANTHROPIC_AUTH_TOKEN: "not-a-token" } };
  const fromSettings = [
    /the login's settings\.json sets apiKeyHelper: the Claude CLI uses the key it prints instead of the stored login; remove it from ~\/\.claude\/settings\.json/,
    /the login's settings\.json sets ANTHROPIC_AUTH_TOKEN in "env": the Claude CLI uses it instead of the stored login/,
  ];

  it("at run start, in status and in doctor: one line each for an API key in the environment and for apiKeyHelper / env in the captured settings", async () => {
    await setupProfile("override", { settings });
    const run = await plugin(sandbox, ["run", "--profile", "override", "--no-workspace", "--no-tty", "--network", "none", "-e", "ANTHROPIC_API_KEY=not-a-real-key", "--", "true"]);
    expect(run.exitCode, run.output).toBe(0);
    const warnings = run.stderr.split("\n").filter((line) => line.includes("instead of the stored login"));
    expect(warnings).toEqual([
      expect.stringMatching(/^claudeauth: warn: ANTHROPIC_API_KEY is set in the run's environment: the Claude CLI uses it instead of the stored login; unset it \(or leave out -e ANTHROPIC_API_KEY\)/),
      expect.stringMatching(fromSettings[0]!),
      expect.stringMatching(fromSettings[1]!),
    ]);

    const status = await plugin(sandbox, ["status", "--profile", "override", "--json"], { env: { ANTHROPIC_API_KEY: "not-a-real-key" } });
    expect(JSON.parse(status.stdout).warnings.map((w: { message: string }) => w.message)).toEqual([
      expect.stringMatching(/^ANTHROPIC_API_KEY is set in this shell's environment \(a run gets it with -e\)/),
      expect.stringMatching(fromSettings[0]!),
      expect.stringMatching(fromSettings[1]!),
    ]);
    const doctor = await plugin(sandbox, ["doctor", "--profile", "override"]);
    expect(doctor.stdout.split("\n").filter((line) => line.includes("instead of the stored login"))).toEqual([
      expect.stringMatching(new RegExp(`^\\[warn\\] store .* \\(profile override\\): ${fromSettings[0]!.source}`)),
      expect.stringMatching(new RegExp(`^\\[warn\\] store .* \\(profile override\\): ${fromSettings[1]!.source}`)),
    ]);
  });

  it("a login without overrides gets no such warning", async () => {
    const status = await plugin(sandbox, ["status", "--profile", "audit", "--json"]);
    expect(JSON.stringify(JSON.parse(status.stdout).warnings)).not.toContain("instead of the stored login");
  });
});

describe("long-lived mode and the CLI's Bash tool", () => {
  // The token is in the CLI's environment (CLAUDE_CODE_OAUTH_TOKEN). CLI 2.1.197 keeps it out
  // of its Bash tool's; CLAUDE_CODE_SUBPROCESS_ENV_SCRUB=1 would make it demand bubblewrap,
  // which cannot make namespaces in these containers, so the run does not set it.
  it("the model asks the real CLI to run `env`: the tool runs in the run's environment, without the token", async () => {
    const token = fake.issueLongLivedToken();
    trackSecret(token);
    const setup = await plugin(sandbox, ["setup", "--profile", "scrub", "--token-stdin"], { input: `${token}\n` });
    expect(setup.exitCode, setup.output).toBe(0);
    fake.answerWithBash("env");
    try {
      const before = fake.stats.toolResults.length;
      const run = await plugin(sandbox, [
        "run", "--profile", "scrub", "--no-workspace", "--no-tty", ...endpoint,
        "--", "sh", "-c", "claude -p 'print the environment' --allowedTools Bash --no-session-persistence --output-format json </dev/null",
      ]);
      expect(run.exitCode, run.output).toBe(0);
      expect(JSON.parse(run.stdout.trim().split("\n").pop()!)).toMatchObject({ is_error: false, result: "done" });
      const ran = fake.stats.toolResults.slice(before);
      expect(ran).toHaveLength(1);
      expect(ran[0]).toMatch(/^CLAUDE_CONFIG_DIR=\/run\/claudeauth\//m); // what the entrypoint set reaches the tool
      expect(ran[0]).not.toMatch(/CLAUDE_CODE_OAUTH_TOKEN/);
      expect(findTokens(ran[0]!)).toEqual([]);
    } finally {
      fake.answerWithBash(null);
    }
  });
});
