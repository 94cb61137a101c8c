// End to end, "bring your own image": a team's Dockerfile on another base (here the Node base)
// takes the entrypoint and tini from the FROM-scratch claudeauth/entrypoint image with the
// recipe in docker/README.md, sets no ENTRYPOINT of ours, and `docker claudeauth run --image`
// runs the real Claude CLI in it, logged in, as the invoking user, with the store out of reach.
import fs from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectNoTokens } from "../support/tokens";
import {
  asHostUser, BUILD_CA, docker, ensureImages, HOST_USER, hostUserDir, loggedInStore, pluginBinary, pluginEnv, removeContainers, RUN_IMAGE, STORE_IN_CONTAINER, VERSION,
} from "../support/images";

const ENTRYPOINT_IMAGE = `claudeauth/entrypoint:${VERSION}`;
const OWN_IMAGE = `cae2e-own-${process.pid}:latest`;

// The documented recipe (docker/README.md), then how this team installs Claude Code: copied
// from our production image here to stay offline (a team would npm install it).
const DOCKERFILE = `FROM node:22-bookworm-slim
ARG TARGETARCH=amd64
COPY --from=${ENTRYPOINT_IMAGE} /claudeauth/\${TARGETARCH}/ /usr/local/bin/
RUN install -d -m 0700 /var/lib/claudeauth && useradd --create-home claude
COPY --from=${RUN_IMAGE} /opt/claude /opt/claude
ENV PATH=/opt/claude/bin:$PATH
`;

let scratch = "";
let store = "";

beforeAll(async () => {
  await ensureImages();
  const entrypoint = await execa(pluginBinary(), ["build", "--only", "entrypoint", "--if-changed", "--quiet", "--network", "host", "--ca-cert", BUILD_CA], { reject: false, all: true });
  if (entrypoint.exitCode !== 0) throw new Error(`building ${ENTRYPOINT_IMAGE}: ${entrypoint.all}`);
  scratch = hostUserDir("own");
  const context = path.join(scratch, "context");
  fs.mkdirSync(context);
  fs.writeFileSync(path.join(context, "Dockerfile"), DOCKERFILE);
  const build = await docker(["build", "--network", "none", "--force-rm", "-q", "-t", OWN_IMAGE, context]);
  if (build.exitCode !== 0) throw new Error(`building the user's image: ${build.stderr}`);
  store = await loggedInStore(scratch, "own");
}, 900_000);

afterAll(async () => {
  if (scratch) await removeContainers([store]);
  await docker(["rmi", "-f", OWN_IMAGE]);
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

describe("bring your own image", { timeout: 240_000 }, () => {
  it("the entrypoint image is FROM scratch: the entrypoint and a static tini per architecture, labelled role=entrypoint", async () => {
    const inspect = await docker(["image", "inspect", "--format", '{{index .Config.Labels "io.claudeauth.role"}} {{len .RootFS.Layers}}', ENTRYPOINT_IMAGE]);
    expect(inspect.stdout.trim()).toBe("entrypoint 1");
    const files = await docker(["run", "--rm", "--network", "none", "--entrypoint", "sh", OWN_IMAGE, "-c",
      "ls /usr/local/bin/claudeauth-entrypoint /usr/local/bin/tini && /usr/local/bin/tini --version"]);
    expect(files.exitCode, files.stderr).toBe(0);
    expect(files.stdout).toMatch(/tini version 0\.\d+/);
  });

  it("docker claudeauth run --image runs the real CLI logged in, as the invoking user, the store out of reach (no ENTRYPOINT of ours in the image)", async () => {
    const entrypoint = await docker(["image", "inspect", "--format", "{{json .Config.Entrypoint}}", OWN_IMAGE]);
    expect(entrypoint.exitCode).toBe(0);
    expect(entrypoint.stdout).not.toContain("claudeauth-entrypoint");
    const probe = [
      'echo "uid=$(id -u) base=$(. /etc/os-release; echo $ID) node=$(node --version)"',
      "claude --version",
      "claude auth status --json",
      `ls ${STORE_IN_CONTAINER} >/dev/null 2>&1 && echo "store: readable" || echo "store: denied"`,
    ].join("\n");
    const argv = asHostUser(["docker", "claudeauth", "run", "--image", OWN_IMAGE, "--store", store, "--network", "none", "--no-tty", "--no-workspace", "--", "sh", "-c", probe]);
    const result = await execa(argv[0]!, argv.slice(1), { reject: false, stdin: "ignore", env: pluginEnv() });
    expectNoTokens({ stdout: String(result.stdout), stderr: String(result.stderr) });
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(result.stdout).toContain(`uid=${HOST_USER.uid} base=debian node=v22.`);
    expect(result.stdout).toMatch(/^2\.1\.197 \(Claude Code\)$/m);
    expect(result.stdout).toMatch(/"loggedIn": true/);
    expect(result.stdout).toContain('"email": "own@example.com"');
    expect(result.stdout).toContain("store: denied");
  });
});
