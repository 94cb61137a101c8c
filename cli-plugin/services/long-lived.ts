import { DirStore } from "../../core/store-dir";
import { commitLongLivedToken, LONG_LIVED_TOKEN_SHAPE, validateLongLivedToken } from "../../core/long-lived-token";
import { UserError } from "../../core/errors";
import { recordEvent } from "../../core/events";
import { log } from "../../core/output";
import { hardeningFlags, type Docker, type Hardening } from "../engine/docker";
import { requireImage } from "../engine/images";
import { describeStore, ensureStoreDir, type HostStoreRef } from "../stores/profile";
import { withContainerStore } from "../stores/container-store";

// Long-lived mode: a token from `claude setup-token` kept as the capture's `oauth-token`
// (0600); the entrypoint hands it to the workload as CLAUDE_CODE_OAUTH_TOKEN from inside
// the container. A new capture keeps the earlier one's .claude.json and user settings.

export function validateToken(raw: string): string {
  const token = validateLongLivedToken(raw);
  if (!LONG_LIVED_TOKEN_SHAPE.test(token)) log.warn("the token does not look like one `claude setup-token` prints (sk-ant-oat01-...); storing it anyway");
  return token;
}

export async function importToken(ref: HostStoreRef, token: string, docker: Docker, source: string, hardening: Hardening): Promise<number> {
  if (ref.kind === "dir") {
    ensureStoreDir(ref);
    const owner = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
    const store = new DirStore(ref.path, owner);
    const { generation } = await commitLongLivedToken(store, token, source);
    await recordEvent(store, { by: "plugin", kind: source === "setup-token" ? "setup" : "import", outcome: "long-lived", generation, detail: `a long-lived token (${source})` });
    return generation;
  }
  // A volume lives on the engine's machine, a helper's entry goes through the plugin's
  // channel: the entrypoint in the production image writes the capture; the token travels
  // on stdin, never on a command line.
  const image = await requireImage(docker, "run");
  const result = await withContainerStore(ref, docker, (store) =>
    docker.capture(
      [
        "run", "--rm", "-i", "--network", "none", "--log-driver", "none", ...hardeningFlags(hardening),
        ...store,
        "--entrypoint", "/usr/local/bin/claudeauth-entrypoint",
        image, "setup", "--token-stdin",
      ],
      { input: `${token}\n` },
    ),
  );
  if (result.code !== 0) {
    throw new UserError(`could not store the token in ${describeStore(ref)}: ${result.stderr.trim().split("\n").pop() || `exit code ${result.code}`}`);
  }
  const generation = /capture (\d+)/.exec(result.stdout + result.stderr);
  return generation ? Number(generation[1]) : 0;
}
