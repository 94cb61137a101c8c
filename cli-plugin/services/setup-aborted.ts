import fs from "node:fs";
import { log } from "../../core/output";
import { hardeningFlags, type Docker, type Hardening } from "../engine/docker";
import { describeStore, type HostStoreRef } from "../stores/profile";
import { isConnectionFailure, NETWORK_HINT } from "./network-hint";

// A setup that captured nothing: the store it created goes again (else `status --all` lists a
// profile that is "not logged in"), and the advice depends on why: a CLI that could not reach
// Anthropic needs the network or proxy fixed, not another /login.

/** Whether the store exists before setup creates it. */
export async function storeExists(ref: HostStoreRef, docker: Docker): Promise<boolean> {
  if (ref.kind === "dir") return fs.existsSync(ref.path);
  // A helper entry is written only by a commit: an aborted setup leaves none to remove.
  if (ref.kind === "helper") return true;
  return (await docker.capture(["volume", "inspect", "--format", "{{.Name}}", ref.volume])).code === 0;
}

/** Removes a store this setup created and left without a capture. */
export async function removeCreatedStore(ref: HostStoreRef, docker: Docker): Promise<void> {
  if (ref.kind === "dir") fs.rmSync(ref.path, { recursive: true, force: true });
  else if (ref.kind === "volume") await docker.capture(["volume", "rm", ref.volume]);
  log.info(`removed ${describeStore(ref)}, which this setup created`);
}

// One TLS handshake with api.anthropic.com from the setup image's Node, through HTTPS_PROXY
// when set (Node's https ignores it), trusting NODE_EXTRA_CA_CERTS: the path the CLI takes.
const PROBE = `
const net = require("net"), tls = require("tls"), host = "api.anthropic.com";
const fail = (e) => { console.log((e && (e.code || e.message)) || String(e)); process.exit(1); };
const done = () => process.exit(0);
setTimeout(() => fail("no answer from " + host + " within 10s"), 10000).unref();
const proxy = process.env.HTTPS_PROXY || process.env.https_proxy;
if (proxy) {
  const url = new URL(proxy);
  const socket = net.connect(Number(url.port) || 80, url.hostname, () => socket.write("CONNECT " + host + ":443 HTTP/1.1\\r\\nHost: " + host + ":443\\r\\n\\r\\n"));
  socket.on("error", fail);
  socket.once("data", (answer) => {
    if (!/^HTTP\\/1\\.[01] 200/.test(String(answer))) fail("proxy refused CONNECT: " + String(answer).split("\\r\\n")[0]);
    tls.connect({ socket, servername: host }, done).on("error", fail);
  });
} else tls.connect(443, host, { servername: host }, done).on("error", fail);
`;

export type ProbeSetting = { image: string; network: string | undefined; env: string[]; volumes: string[]; hardening: Hardening };

/**
 * Why the CLI could not reach Anthropic from this setup's container (its network, -e and -v),
 * or null when it could, or when the probe itself could not run (an image without node).
 */
export async function unreachableReason(setting: ProbeSetting, docker: Docker): Promise<string | null> {
  const result = await docker.capture(
    [
      "run", "--rm", "--log-driver", "none", "--user", "10001",
      ...(setting.network ? ["--network", setting.network] : []),
      ...hardeningFlags(setting.hardening),
      ...setting.env,
      ...setting.volumes,
      "--entrypoint", "node", setting.image, "-e", PROBE,
    ],
    { timeoutMs: 30_000 },
  );
  const reason = result.stdout.trim().split("\n").pop() ?? "";
  return result.code === 1 && isConnectionFailure(reason) ? reason : null;
}

export function networkAdvice(reason: string, ref: HostStoreRef): string {
  return `the login did not complete: nothing was captured into ${describeStore(ref)}; ${NETWORK_HINT} (${reason})`;
}
