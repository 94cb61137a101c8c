import { UserError } from "../core/errors";
import type { Docker } from "./docker";
import { VERSION } from "./metadata";

// The two images, tagged with the plugin's version so that plugin and entrypoint match.
export type ImageKind = "setup" | "run";

const REPOSITORY: Record<ImageKind, string> = { setup: "claudeauth/setup", run: "claudeauth/run" };
const OVERRIDE_ENV: Record<ImageKind, string> = { setup: "CLAUDEAUTH_SETUP_IMAGE", run: "CLAUDEAUTH_RUN_IMAGE" };

export function imageRepository(kind: ImageKind): string {
  return REPOSITORY[kind];
}

/** The image to use: --image, else $CLAUDEAUTH_{SETUP,RUN}_IMAGE, else claudeauth/KIND:VERSION. */
export function imageName(kind: ImageKind, override?: string): string {
  return override || process.env[OVERRIDE_ENV[kind]] || `${REPOSITORY[kind]}:${VERSION}`;
}

export async function imageExists(docker: Docker, image: string): Promise<boolean> {
  const result = await docker.capture(["image", "inspect", "--format", "{{.Id}}", image]);
  if (result.code === 0) return true;
  if (/no such image|not found/i.test(result.stderr)) return false;
  throw docker.failure(`docker image inspect ${image}`, result);
}

export async function requireImage(docker: Docker, kind: ImageKind, override?: string): Promise<string> {
  const image = imageName(kind, override);
  if (!(await imageExists(docker, image))) {
    throw new UserError(
      `the ${kind === "run" ? "production" : "setup"} image ${image} is missing: build it with "docker claudeauth build" (add --ca-cert FILE behind a TLS-intercepting proxy)`,
    );
  }
  return image;
}
