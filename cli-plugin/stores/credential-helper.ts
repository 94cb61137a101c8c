import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  describeHelperFailure, helperBinary, helperInstallHint, isNotFound, MAX_HELPER_ANSWER_BYTES, parseGetAnswer, parseListAnswer, serverUrl, storeRequest,
  validateHelperName,
} from "../../core/credential-helper";
import { parseDuration } from "../../core/duration";
import { UserError } from "../../core/errors";
import { redact } from "../../core/redact";

// A Docker credential helper, run as the protocol says (core/credential-helper.ts): one
// process per call, the request on stdin, a bounded wait for its answer. The Secret goes
// through a pipe only, never an argument, the environment or a file. Every failure is one
// line with the fix, made of the helper's own first line (redacted, as all output is).

export const DEFAULT_HELPER_TIMEOUT = "60s"; // a keychain may ask a person to unlock it

type Answer = { code: number; stdout: string; stderr: string };

export class CredentialHelper {
  readonly binary: string;

  constructor(
    readonly name: string,
    private readonly timeoutMs = parseDuration(process.env.CLAUDEAUTH_HELPER_TIMEOUT || DEFAULT_HELPER_TIMEOUT),
  ) {
    this.binary = helperBinary(name);
  }

  /** The profile's entry (its Secret), null when the helper holds none. */
  async get(profile: string): Promise<string | null> {
    const answer = await this.call("get", serverUrl(profile));
    if (answer.code !== 0) {
      if (isNotFound(answer.stdout) || isNotFound(answer.stderr)) return null;
      throw this.failure(answer);
    }
    return parseGetAnswer(answer.stdout, profile);
  }

  async store(profile: string, secret: string): Promise<void> {
    const answer = await this.call("store", storeRequest(profile, secret));
    if (answer.code !== 0) throw this.failure(answer);
  }

  /** Removes the profile's entry; true if there was one. */
  async erase(profile: string): Promise<boolean> {
    if ((await this.get(profile)) === null) return false;
    const answer = await this.call("erase", serverUrl(profile));
    if (answer.code !== 0 && !isNotFound(answer.stdout + answer.stderr)) throw this.failure(answer);
    return true;
  }

  /** Profiles that have an entry. */
  async list(): Promise<string[]> {
    const answer = await this.call("list", "");
    if (answer.code !== 0) throw this.failure(answer);
    return parseListAnswer(answer.stdout);
  }

  private failure(answer: Answer): UserError {
    // The helpers print their errors on stdout (an entry only ever comes with exit code 0).
    const output = answer.stderr.trim() || answer.stdout.trim();
    return new UserError(redact(describeHelperFailure(this.name, output || `exit code ${answer.code}`)));
  }

  private call(command: string, input: string): Promise<Answer> {
    return new Promise((resolve, reject) => {
      // Its own process group: a helper's children (pass runs gpg) go with it on a timeout.
      const child = spawn(this.binary, [command], { stdio: ["pipe", "pipe", "pipe"], detached: true });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let size = 0;
      let settled = false;
      const finish = (error: Error | null, answer?: Answer) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) reject(error);
        else resolve(answer!);
      };
      const kill = () => {
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {
          child.kill("SIGKILL");
        }
      };
      const timer = setTimeout(() => {
        kill();
        finish(
          new UserError(
            `${this.binary} did not answer ${command} within ${Math.round(this.timeoutMs / 1000)}s: unlock the keychain or the GPG key if it waits for one (CLAUDEAUTH_HELPER_TIMEOUT sets the wait)`,
          ),
        );
      }, this.timeoutMs);
      const collect = (into: Buffer[]) => (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_HELPER_ANSWER_BYTES) {
          kill();
          finish(new UserError(`${this.binary} answered ${command} with more than ${MAX_HELPER_ANSWER_BYTES} bytes: it is not a credential helper`));
        } else into.push(chunk);
      };
      child.stdout.on("data", collect(out));
      child.stderr.on("data", collect(err));
      child.on("error", (error: NodeJS.ErrnoException) => {
        if (error.code === "ENOENT") {
          finish(new UserError(`${this.binary} is not installed (not on PATH): ${helperInstallHint(this.name)}`));
        } else finish(new UserError(`cannot run ${this.binary}: ${error.code ?? error.message}`));
      });
      child.on("close", (code) => finish(null, { code: code ?? 1, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") }));
      child.stdin.on("error", () => undefined); // a helper that exits without reading: its exit says why
      child.stdin.end(input);
    });
  }
}

/** `helper:` alone: the credsStore of the user's Docker config ($DOCKER_CONFIG, else ~/.docker). */
export function configuredHelper(env: NodeJS.ProcessEnv = process.env): string {
  const file = path.join(env.DOCKER_CONFIG || path.join(os.homedir(), ".docker"), "config.json");
  let credsStore: unknown;
  try {
    credsStore = (JSON.parse(fs.readFileSync(file, "utf8")) as { credsStore?: unknown }).credsStore;
  } catch (error) {
    const why = (error as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : "does not read as JSON";
    throw new UserError(`--store helper: uses the credsStore of ${file}, which ${why}: name the helper (--store helper:pass, helper:osxkeychain, ...)`, 125);
  }
  if (typeof credsStore !== "string" || credsStore === "") {
    throw new UserError(`--store helper: uses the credsStore of ${file}, which sets none: name the helper (--store helper:pass, helper:osxkeychain, ...)`, 125);
  }
  return validateHelperName(credsStore);
}
