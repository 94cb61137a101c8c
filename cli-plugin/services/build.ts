import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { UserError } from "../../core/errors";
import { log } from "../../core/output";
import { ARCHITECTURES, DOCKERFILES, dockerfile, entrypointBinary, type Architecture } from "../engine/assets";
import type { Docker } from "../engine/docker";
import { imageRepository, type ImageKind } from "../engine/images";
import { VERSION } from "../docker-cli/metadata";

// build: both images from the Dockerfiles and the entrypoint this binary carries, so an
// installed plugin needs no checkout. The context is a temp dir holding the entrypoint and
// extra-ca.pem (the CA of a TLS-intercepting proxy, or empty).

export type BuildOptions = {
  only: ImageKind | undefined;
  caCert: string | undefined;
  buildArgs: string[];
  /** Network for RUN steps; default: the builder's own (a docker-container builder may refuse "host"). */
  network: string | undefined;
  noCache: boolean;
  /** Nothing but errors on the terminal. */
  quiet: boolean;
  /** Leave alone an image that already carries this plugin's version and entrypoint. */
  ifChanged?: boolean;
  /** Build nothing: exit 0 when every image is current, 1 when one would be built. */
  check?: boolean;
  /** linux/amd64, linux/arm64; default: the engine's architecture. */
  platforms?: string[];
};

const ENTRYPOINT_LABEL = "io.claudeauth.entrypoint-sha256";

export async function buildImages(docker: Docker, options: BuildOptions): Promise<number> {
  const ca = readCaCert(options.caCert);
  const engine = await engineArchitecture(docker);
  const architectures = options.platforms?.length ? [...new Set(options.platforms.map(architectureOf))] : [engine];
  let code = 0;
  for (const arch of architectures) {
    code = await buildFor(docker, options, ca, arch, arch === engine ? "" : `-${arch}`);
    if (code !== 0 && !options.check) return code;
  }
  return code;
}

/** Both images for one architecture; tags carry -ARCH when it is not the engine's own. */
async function buildFor(docker: Docker, options: BuildOptions, ca: string, arch: Architecture, suffix: string): Promise<number> {
  const entrypoints = Object.fromEntries(ARCHITECTURES.map((a) => [a, entrypointBinary(a)])) as Record<Architecture, Buffer>;
  const sha256 = (...parts: Buffer[]) => parts.reduce((hash, part) => hash.update(part), crypto.createHash("sha256")).digest("hex");
  // The entrypoint image carries every architecture's entrypoint: one image, made beside the engine's own.
  const digests: Record<ImageKind, string> = { run: sha256(entrypoints[arch]), setup: sha256(entrypoints[arch]), entrypoint: sha256(...ARCHITECTURES.map((a) => entrypoints[a])) };
  const tag = (kind: ImageKind) => `${imageRepository(kind)}:${VERSION}${suffix}`;
  const info = options.quiet ? () => undefined : log.info;
  const wanted: ImageKind[] = options.only ? [options.only] : ["run", "setup", ...(suffix ? [] : ["entrypoint" as const])];
  const kinds: ImageKind[] = [];
  for (const kind of wanted) {
    const skip = (options.ifChanged || options.check) && (await isCurrent(docker, tag(kind), digests[kind]));
    if (skip) info(`${tag(kind)} is current (this version and entrypoint)${options.check ? "" : ": not rebuilt"}`);
    else kinds.push(kind);
  }
  if (options.check) {
    for (const kind of kinds) info(`${tag(kind)} needs a build`);
    return kinds.length === 0 ? 0 : 1;
  }
  if (kinds.length === 0) return 0;
  const context = fs.mkdtempSync(path.join(os.tmpdir(), "claudeauth-build-"));
  try {
    fs.writeFileSync(path.join(context, "claudeauth-entrypoint"), entrypoints[arch], { mode: 0o755 });
    if (kinds.includes("entrypoint")) {
      for (const a of ARCHITECTURES) fs.writeFileSync(path.join(context, `claudeauth-entrypoint-${a}`), entrypoints[a], { mode: 0o755 });
    }
    fs.writeFileSync(path.join(context, "extra-ca.pem"), ca, { mode: 0o644 });
    for (const kind of kinds) fs.writeFileSync(path.join(context, DOCKERFILES[kind]), dockerfile(kind));

    // The production image first: the setup image then reuses its builder stage from the cache.
    for (const [index, kind] of kinds.entries()) {
      info(`building ${tag(kind)} (${index + 1}/${kinds.length}, linux/${arch})${options.caCert ? ` trusting ${options.caCert}` : ""}`);
      const args = [
        "build",
        ...(options.network ? ["--network", options.network] : []),
        // Another architecture than the engine's: RUN steps go through binfmt_misc (qemu).
        ...(suffix ? ["--platform", `linux/${arch}`] : []),
        "-f", path.join(context, DOCKERFILES[kind]),
        "-t", tag(kind),
        "-t", `${imageRepository(kind)}:latest${suffix}`,
        "--label", `io.claudeauth.version=${VERSION}`,
        "--label", `${ENTRYPOINT_LABEL}=${digests[kind]}`,
        // The legacy builder keeps a failed step's container unless told not to.
        "--force-rm",
        ...options.buildArgs.flatMap((arg) => ["--build-arg", arg]),
        ...(options.noCache ? ["--no-cache"] : []),
        ...(options.quiet ? ["--quiet"] : []),
        context,
      ];
      // Docker's own progress goes to the terminal as it comes; quiet, its stderr (the legacy
      // builder's deprecation notice) only when the build fails.
      const stderr: Buffer[] = [];
      const result = await docker.stream(args, { stdin: "ignore", ...(options.quiet ? { onStdout: () => undefined, onStderr: (chunk) => stderr.push(chunk) } : {}) });
      if (result.code !== 0) {
        process.stderr.write(Buffer.concat(stderr));
        log.error(`building ${tag(kind)} failed (exit code ${result.code})${options.caCert ? "" : "; behind a TLS-intercepting proxy add --ca-cert FILE"}`);
        return result.code;
      }
      info(`built ${tag(kind)} (also tagged :latest${suffix})`);
    }
    return 0;
  } finally {
    fs.rmSync(context, { recursive: true, force: true });
  }
}

/** The engine's architecture (docker version's Server.Arch): the images must match it. */
async function engineArchitecture(docker: Docker): Promise<Architecture> {
  const result = await docker.capture(["version", "--format", "{{.Server.Arch}}"], { timeoutMs: 20_000 });
  if (result.code !== 0) throw docker.failure("docker version", result);
  const arch = result.stdout.trim();
  if (!(ARCHITECTURES as readonly string[]).includes(arch)) {
    throw new UserError(`the Docker engine runs on ${arch}; the entrypoint is built for ${ARCHITECTURES.join(" and ")}: use another engine or --platform linux/amd64`);
  }
  return arch as Architecture;
}

/** "linux/arm64", "linux/arm64/v8", "linux/amd64" → Docker's architecture name. */
function architectureOf(platform: string): Architecture {
  const [os, arch] = platform.split("/");
  if (os !== "linux" || !(ARCHITECTURES as readonly string[]).includes(arch ?? "")) {
    throw new UserError(`--platform ${platform} is not one the entrypoint is built for: use ${ARCHITECTURES.map((a) => `linux/${a}`).join(" or ")}`, 125);
  }
  return arch as Architecture;
}

async function isCurrent(docker: Docker, image: string, digest: string): Promise<boolean> {
  const inspect = await docker.capture(["image", "inspect", "--format", "{{json .Config.Labels}}", image]);
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
