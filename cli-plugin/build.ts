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
};

export async function buildImages(docker: Docker, options: BuildOptions): Promise<number> {
  const ca = readCaCert(options.caCert);
  const context = fs.mkdtempSync(path.join(os.tmpdir(), "claudeauth-build-"));
  try {
    fs.writeFileSync(path.join(context, "claudeauth-entrypoint"), entrypointBinary(), { mode: 0o755 });
    fs.writeFileSync(path.join(context, "extra-ca.pem"), ca, { mode: 0o644 });
    for (const kind of ["run", "setup"] as const) fs.writeFileSync(path.join(context, DOCKERFILES[kind]), dockerfile(kind));

    // The production image first: the setup image then reuses its builder stage from the cache.
    const kinds: ImageKind[] = options.only ? [options.only] : ["run", "setup"];
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
