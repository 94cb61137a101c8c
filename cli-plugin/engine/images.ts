import { UserError } from "../../core/errors";
import type { Docker } from "./docker";
import { VERSION } from "../docker-cli/metadata";

// The images, tagged with the plugin's version so that plugin and entrypoint match: setup,
// production (run), and the FROM-scratch entrypoint image that users copy into their own.
export type ImageKind = "setup" | "run" | "entrypoint";

const REPOSITORY: Record<ImageKind, string> = { setup: "claudeauth/setup", run: "claudeauth/run", entrypoint: "claudeauth/entrypoint" };
const OVERRIDE_ENV: Record<ImageKind, string> = { setup: "CLAUDEAUTH_SETUP_IMAGE", run: "CLAUDEAUTH_RUN_IMAGE", entrypoint: "CLAUDEAUTH_ENTRYPOINT_IMAGE" };

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

/** Where the "bring your own image" recipe (docker/README.md) puts tini and the entrypoint. */
export const OWN_IMAGE_TINI = "/usr/local/bin/tini";
export const OWN_IMAGE_ENTRYPOINT = "/usr/local/bin/claudeauth-entrypoint";

/**
 * How to start a production container of `image`: as it is when its ENTRYPOINT is our
 * entrypoint (our image, or a user's image that sets it); otherwise (a user's image that
 * copied the entrypoint in but keeps its own ENTRYPOINT, or none) the plugin starts it
 * itself, under tini, in run mode. Docker drops the image's CMD with --entrypoint, so the
 * command defaults to claude.
 */
export async function productionStart(docker: Docker, image: string, command: string[]): Promise<{ flags: string[]; command: string[] }> {
  const result = await docker.capture(["image", "inspect", "--format", "{{json .Config.Entrypoint}}", image]);
  if (result.code !== 0) throw docker.failure(`docker image inspect ${image}`, result);
  const entrypoint = (JSON.parse(result.stdout.trim() || "null") ?? []) as string[];
  if (entrypoint.some((arg) => arg.endsWith("/claudeauth-entrypoint"))) return { flags: [], command };
  return {
    flags: ["--entrypoint", OWN_IMAGE_TINI],
    command: ["-g", "--", OWN_IMAGE_ENTRYPOINT, "run", "--", ...(command.length ? command : ["claude"])],
  };
}
