import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { UserError } from "../core/errors";
import { log } from "../core/output";
import { DOCKERFILES, dockerfile, entrypointBinary } from "./assets";
import type { Docker } from "./docker";
import { imageRepository, type ImageKind } from "./images";
import { VERSION } from "./metadata";

// build: both images from the Dockerfiles and the entrypoint this binary carries, so an
// installed plugin needs no checkout. The context is a temp dir holding the entrypoint and
// extra-ca.pem (the CA of a TLS-intercepting proxy, or empty).

export type BuildOptions = {
  only: ImageKind | undefined;
  caCert: string | undefined;
  buildArgs: string[];
  network: string;
  noCache: boolean;
  quiet: boolean;
  /** Leave alone an image that already carries this plugin's version and entrypoint. */
  ifChanged?: boolean;
  /** Build nothing: exit 0 when every image is current, 1 when one would be built. */
  check?: boolean;
};

const ENTRYPOINT_LABEL = "io.claudeauth.entrypoint-sha256";

export async function buildImages(docker: Docker, options: BuildOptions): Promise<number> {
  const ca = readCaCert(options.caCert);
  const entrypoint = entrypointBinary();
  const digest = crypto.createHash("sha256").update(entrypoint).digest("hex");
  const wanted: ImageKind[] = options.only ? [options.only] : ["run", "setup"];
  const kinds: ImageKind[] = [];
  for (const kind of wanted) {
    const skip = (options.ifChanged || options.check) && (await isCurrent(docker, kind, digest));
    if (skip) log.info(`${imageRepository(kind)}:${VERSION} is current (this version and entrypoint)${options.check ? "" : ": not rebuilt"}`);
    else kinds.push(kind);
  }
  if (options.check) {
    for (const kind of kinds) log.info(`${imageRepository(kind)}:${VERSION} needs a build`);
    return kinds.length === 0 ? 0 : 1;
  }
  if (kinds.length === 0) return 0;
  const context = fs.mkdtempSync(path.join(os.tmpdir(), "claudeauth-build-"));
  try {
    fs.writeFileSync(path.join(context, "claudeauth-entrypoint"), entrypoint, { mode: 0o755 });
    fs.writeFileSync(path.join(context, "extra-ca.pem"), ca, { mode: 0o644 });
    for (const kind of ["run", "setup"] as const) fs.writeFileSync(path.join(context, DOCKERFILES[kind]), dockerfile(kind));

    // The production image first: the setup image then reuses its builder stage from the cache.
    for (const [index, kind] of kinds.entries()) {
      const repository = imageRepository(kind);
      log.info(`building ${repository}:${VERSION} (${index + 1}/${kinds.length})${options.caCert ? ` trusting ${options.caCert}` : ""}`);
      const args = [
        "build",
        "--network", options.network,
        "-f", path.join(context, DOCKERFILES[kind]),
        "-t", `${repository}:${VERSION}`,
        "-t", `${repository}:latest`,
        "--label", `io.claudeauth.version=${VERSION}`,
        "--label", `${ENTRYPOINT_LABEL}=${digest}`,
        // The legacy builder keeps a failed step's container unless told not to.
        "--force-rm",
        ...options.buildArgs.flatMap((arg) => ["--build-arg", arg]),
        ...(options.noCache ? ["--no-cache"] : []),
        ...(options.quiet ? ["--quiet"] : []),
        context,
      ];
      // Docker's own progress goes to the terminal as it comes.
      const result = await docker.stream(args, { stdin: "ignore", ...(options.quiet ? { onStdout: () => undefined } : {}) });
      if (result.code !== 0) {
        log.error(`building ${repository}:${VERSION} failed (exit code ${result.code})${options.caCert ? "" : "; behind a TLS-intercepting proxy add --ca-cert FILE"}`);
        return result.code;
      }
      log.info(`built ${repository}:${VERSION} (also tagged :latest)`);
    }
    return 0;
  } finally {
    fs.rmSync(context, { recursive: true, force: true });
  }
}

async function isCurrent(docker: Docker, kind: ImageKind, digest: string): Promise<boolean> {
  const inspect = await docker.capture(["image", "inspect", "--format", "{{json .Config.Labels}}", `${imageRepository(kind)}:${VERSION}`]);
  if (inspect.code !== 0) return false;
  const labels = (JSON.parse(inspect.stdout.trim() || "null") ?? {}) as Record<string, string>;
  return labels["io.claudeauth.version"] === VERSION && labels[ENTRYPOINT_LABEL] === digest;
}

function readCaCert(file: string | undefined): string {
  if (!file) return "";
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    throw new UserError(`cannot read the CA certificate ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, 125);
  }
  if (!text.includes("-----BEGIN CERTIFICATE-----")) throw new UserError(`${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`, 125);
  return text;
}
