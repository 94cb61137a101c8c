// The plugin's pure parts, imported directly: argv as docker hands it over, the verdicts of
// `test`, the redacting relay of setup --long-lived.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseInvocation } from "../../cli-plugin/docker-cli/invocation";
import { classify } from "../../cli-plugin/services/test";
import { TokenScanningRelay } from "../../cli-plugin/docker-cli/terminal";
import { resolveCommand } from "../../cli-plugin/docker-cli/cli";
import { complete } from "../../cli-plugin/docker-cli/completion";
import { formatArg, render } from "../../cli-plugin/docker-cli/format";
import { ownArgs, parseCommandArgs } from "../../cli-plugin/docker-cli/parse";
import { passthroughCommand } from "../../cli-plugin/docker-cli/spec";
import { runCommand } from "../../cli-plugin/commands/run";
import { workloadUser } from "../../cli-plugin/services/workload-user";
import { resolveStore, storeMount } from "../../cli-plugin/stores/profile";
import { envFlags } from "../../cli-plugin/engine/passthrough";

describe("argv as docker passes it", () => {
  it.each([
    [["claudeauth", "status"], [], ["status"], true],
    [["--context", "prod", "-D", "claudeauth", "run", "--", "claude"], ["--context", "prod", "-D"], ["run", "--", "claude"], true],
    [["-H", "unix:///x.sock", "--tlsverify", "--tlscacert=/ca.pem", "claudeauth", "doctor"], ["-H", "unix:///x.sock", "--tlsverify", "--tlscacert=/ca.pem"], ["doctor"], true],
    [["--config", "/cfg", "-l", "debug", "claudeauth", "version"], ["--config", "/cfg", "-l", "debug"], ["version"], true],
    [["-cprod", "claudeauth", "status"], ["-cprod"], ["status"], true],
    [["status", "--profile", "x"], [], ["status", "--profile", "x"], false],
  ])("%j", (argv, dockerArgs, args, viaDocker) => {
    const invocation = parseInvocation(argv);
    expect(invocation).toMatchObject({ kind: "command", dockerArgs, args, viaDocker });
  });

  it("help claudeauth and __complete", () => {
    expect(parseInvocation(["help", "claudeauth"])).toMatchObject({ kind: "help", args: [] });
    expect(parseInvocation(["__complete", "claudeauth", "status", "--pro"])).toMatchObject({ kind: "complete", args: ["status", "--pro"] });
    expect(parseInvocation(["--config", "/c", "claudeauth"]).configDir).toBe("/c");
  });

  it("options before the command move after it; groups and aliases resolve", () => {
    expect(resolveCommand(["--profile", "p", "status", "--json"])).toMatchObject({ kind: "command", command: { path: ["status"] }, args: ["--profile", "p", "--json"] });
    expect(resolveCommand(["profile", "list"])).toMatchObject({ kind: "command", command: { path: ["profile", "ls"] } });
    expect(resolveCommand(["login"])).toMatchObject({ kind: "command", command: { path: ["setup"] } });
    expect(resolveCommand(["profile"])).toMatchObject({ kind: "group" });
    expect(resolveCommand(["nope"])).toMatchObject({ kind: "unknown", word: "nope" });
  });

  it("completion of flag values from fixed lists", () => {
    expect(complete(["build", "--only", ""])).toEqual(["setup", "run", "entrypoint", ":4"]);
    expect(complete(["version", "--format", "j"])).toEqual(["json", ":4"]);
    expect(complete(["run", "--", ""])).toEqual([":0"]);
    expect(complete(["run", "claude", "--"])).toEqual([":0"]);
    expect(complete(["run", "--profile", "p", "echo", "-"])).toEqual([":0"]);
  });
});

describe("store locations", () => {
  it("host dir: --store, else $CLAUDE_HUB_DIR/PROFILE, else ~/.claude-hub/PROFILE; volume by name", () => {
    expect(resolveStore({ profile: "a", store: "/x/y" })).toMatchObject({ kind: "dir", path: "/x/y", source: "--store" });
    expect(resolveStore({ profile: "a" }, { CLAUDE_HUB_DIR: "/hub" })).toMatchObject({ kind: "dir", path: "/hub/a", source: "CLAUDE_HUB_DIR" });
    expect(resolveStore({}, {})).toMatchObject({ kind: "dir", path: path.join(os.homedir(), ".claude-hub", "default"), source: "default" });
    expect(resolveStore({ volume: "vol-1" })).toMatchObject({ kind: "volume", volume: "vol-1", profile: "default" });
    expect(() => resolveStore({ volume: "../x" })).toThrow(/invalid volume name/);
  });

  it("a credential helper: helper:NAME, or helper: for the credsStore of the Docker config; one line when there is none", () => {
    expect(resolveStore({ profile: "a", store: "helper:pass" })).toEqual({ kind: "helper", profile: "a", helper: "pass", configured: false });
    expect(() => resolveStore({ store: "helper:../x" })).toThrow(/^invalid credential helper name "\.\.\/x": use the NAME of docker-credential-NAME/);
    const config = fs.mkdtempSync(path.join(os.tmpdir(), "claudeauth-units-"));
    try {
      expect(() => resolveStore({ store: "helper:" }, { DOCKER_CONFIG: config })).toThrow(`--store helper: uses the credsStore of ${config}/config.json, which does not exist: name the helper (--store helper:pass, helper:osxkeychain, ...)`);
      fs.writeFileSync(path.join(config, "config.json"), JSON.stringify({ auths: {} }));
      expect(() => resolveStore({ store: "helper:" }, { DOCKER_CONFIG: config })).toThrow(/which sets none: name the helper/);
      fs.writeFileSync(path.join(config, "config.json"), JSON.stringify({ credsStore: "secretservice" }));
      expect(resolveStore({ store: "helper:" }, { DOCKER_CONFIG: config })).toEqual({ kind: "helper", profile: "default", helper: "secretservice", configured: true });
    } finally {
      fs.rmSync(config, { recursive: true, force: true });
    }
  });

  it("--mount quotes a path with a comma", () => {
    expect(storeMount({ kind: "dir", profile: "p", path: "/a,b/c", source: "--store" }, "/store")).toBe('type=bind,"source=/a,b/c",target=/store');
    expect(storeMount({ kind: "volume", profile: "p", volume: "v" }, "/store", true)).toBe("type=volume,source=v,target=/store,readonly");
  });

  it("-e NAME=VALUE with a token is refused; -e NAME passes", () => {
    expect(envFlags(["HTTPS_PROXY=http://p:3128", "TOKEN"])).toEqual(["-e", "HTTPS_PROXY=http://p:3128", "-e", "TOKEN"]);
    expect(() => envFlags([`X=sk-ant-oat01-${"a".repeat(20)}`])).toThrow(/holds a token/);
    expect(() => envFlags(["1BAD=x"])).toThrow(/invalid environment variable/);
  });
});

describe("test verdicts", () => {
  const ref = { kind: "dir" as const, profile: "default", path: "/s", source: "default" as const };
  const base = { code: 1, timedOut: false, stderr: "", ms: 1500, ref, timeoutMs: 90_000 };
  const result = (fields: Record<string, unknown>) => JSON.stringify({ type: "result", subtype: "success", ...fields });

  it.each([
    [result({ is_error: false, result: "ok" }), "", 0, "ok"],
    [result({ is_error: true, api_error_status: 401, result: "Invalid bearer token" }), "", 1, "token-rejected"],
    [result({ is_error: true, api_error_status: null, result: "Not logged in · Please run /login" }), "", 1, "not-logged-in"],
    [result({ is_error: true, api_error_status: null, result: "API Error: Unable to connect to API (ConnectionRefused)" }), "", 1, "network"],
    ["", 'claudeauth: error: not logged in: the store at /var/lib/claudeauth/store holds no login; run "docker claudeauth setup" first', 1, "not-logged-in"],
    ["", "claudeauth: error: the token endpoint rejected the store's refresh token (invalid_grant): log in again", 1, "token-rejected"],
    ["", "docker: Error response from daemon: network foo not found.", 125, "error"],
    [result({ is_error: true, result: "something odd" }), "", 1, "error"],
  ])("%s %s → %s/%s", (stdout, stderr, code, expected) => {
    expect(classify({ ...base, stdout, stderr, code }).result).toBe(expected);
  });

  it("a timeout is a network problem", () => {
    const verdict = classify({ ...base, stdout: "", timedOut: true, code: 137 });
    expect(verdict).toMatchObject({ result: "network", detail: "no answer within 1m 30s" });
  });
});

describe("the relay of setup --long-lived", () => {
  it("catches a token split across chunks and in escape sequences; never passes it on", async () => {
    const token = `sk-ant-oat01-${"Z".repeat(50)}-end`;
    let shown = "";
    const relay = new TokenScanningRelay((text) => (shown += text));
    const text = `Your OAuth token:\r\n\x1b[1m${token}\x1b[22m\r\nStore it.\r\n`;
    for (let i = 0; i < text.length; i += 7) relay.push(Buffer.from(text.slice(i, i + 7)));
    relay.flush();
    expect(relay.token()).toBe(token);
    expect(shown).not.toContain("ZZZZZZZZ");
    expect(shown).toContain("sk-ant-oat01-[REDACTED]");
    expect(shown).toContain("Store it.");
  });

  it("passes ordinary output through at once, keeping only a possible token start", () => {
    let shown = "";
    const relay = new TokenScanningRelay((text) => (shown += text));
    relay.push(Buffer.from("Paste code here if prompted > "));
    expect(shown).toBe("Paste code here if prompted > ");
    relay.push(Buffer.from("yes sk-an"));
    expect(shown).toBe("Paste code here if prompted > yes ");
    relay.flush();
    expect(shown).toBe("Paste code here if prompted > yes sk-an");
    expect(relay.token()).toBeNull();
  });
});

describe("Docker's conventions (pure parts)", () => {
  it("run stops at its COMMAND: what follows is the workload's, -- still works", () => {
    const parsed = parseCommandArgs(runCommand, ["--profile", "p", "-v", "/a:/b", "claude", "--version", "--profile", "q"]);
    expect(parsed.profile).toBe("p");
    expect(passthroughCommand(parsed)).toEqual(["claude", "--version", "--profile", "q"]);
    expect(passthroughCommand(parseCommandArgs(runCommand, ["--", "echo", "hi"]))).toEqual(["echo", "hi"]);
    expect(ownArgs(runCommand, ["-e", "X", "--no-tty", "claude", "--help"])).toEqual(["-e", "X", "--no-tty"]);
    expect(ownArgs(runCommand, ["--network=none", "--help", "claude"])).toEqual(["--network=none", "--help"]);
  });

  it("--format: json, table, and {{.Field}} templates over the JSON fields", () => {
    const rows = [{ profile: "a", kind: "dir", store: { path: "/x" }, status: null }, { profile: "bb", kind: "volume", store: { path: "v" }, status: "ok" }];
    const table = () => "TABLE";
    const format = (value: string | undefined, json = false) => formatArg({ _: [], format: value, json }, "profile ls");
    expect(render(format(undefined), { json: rows, table })).toBe("TABLE");
    expect(JSON.parse(render(format("json"), { json: rows, table }))).toEqual(rows);
    expect(JSON.parse(render(format(undefined, true), { json: rows, table }))).toEqual(rows);
    expect(render(format("{{.Profile}}:{{.Store.Path}}:{{.Status}}"), { json: rows, table })).toBe("a:/x:\nbb:v:ok");
    expect(render(format("{{json .Store}}"), { json: rows, table })).toBe('{"path":"/x"}\n{"path":"v"}');
    expect(render(format("table {{.Profile}}\\t{{.Kind}}"), { json: rows, table })).toBe("PROFILE   KIND\na         dir\nbb        volume");
    expect(() => render(format("{{.Nope}}"), { json: rows, table })).toThrow(/unknown field "Nope" in --format: the fields are Profile, Kind, Store, Status/);
    expect(() => render(format("{{range .}}"), { json: rows, table })).toThrow(/unsupported template action/);
    expect(() => format("yaml")).toThrow(/unsupported --format "yaml"/);
    expect(() => format("table", true)).toThrow(/--json and --format table ask for different output/);
  });

  it("the workload's ids: --user, else yours, else (as root) the workspace owner's; never root", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "claudeauth-ws-"));
    try {
      expect(workloadUser("1500", dir, { uid: 0, gid: 0 }).ids).toEqual({ uid: 1500, gid: 1500 });
      expect(workloadUser("1500:1600", dir, { uid: 0, gid: 0 }).ids).toEqual({ uid: 1500, gid: 1600 });
      expect(() => workloadUser("0:0", dir)).toThrow(/the workload never runs as root/);
      expect(() => workloadUser("claude", dir)).toThrow(/invalid --user "claude"/);
      expect(workloadUser(undefined, dir, { uid: 1000, gid: 1001 })).toEqual({ ids: { uid: 1000, gid: 1001 }, warning: null });
      const stat = fs.statSync(dir);
      const asRoot = workloadUser(undefined, dir, { uid: 0, gid: 0 });
      if (stat.uid === 0) expect(asRoot).toEqual({ ids: null, warning: expect.stringMatching(/belongs to root and the workload never runs as root/) });
      else expect(asRoot.ids).toEqual({ uid: stat.uid, gid: stat.gid });
      expect(workloadUser(undefined, null, { uid: 0, gid: 0 })).toEqual({ ids: null, warning: null });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
