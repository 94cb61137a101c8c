import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execFileSync } from "node:child_process";

// A throw-away password store for the credential-helper tests: a GPG key without passphrase
// in a temp GNUPGHOME, `pass init` in a temp PASSWORD_STORE_DIR. docker-credential-pass
// (Debian's golang-docker-credential-helpers, installed by scripts/engine.sh) finds both
// through the environment. The key can be taken away (the "undecryptable store" fault).

export type PassStore = {
  env: { GNUPGHOME: string; PASSWORD_STORE_DIR: string };
  dir: string;
  /** Deletes the secret key: entries stay encrypted, nothing can decrypt them. */
  removeSecretKey(): void;
  cleanup(): void;
};

export function makePassStore(): PassStore {
  // Short paths: gpg-agent's socket lives in GNUPGHOME and a unix socket path is bounded.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ca-pass-"));
  const env = { GNUPGHOME: path.join(dir, "g"), PASSWORD_STORE_DIR: path.join(dir, "p") };
  fs.mkdirSync(env.GNUPGHOME, { mode: 0o700 });
  const run = (file: string, args: string[]) => execFileSync(file, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] }).toString("utf8");
  run("gpg", ["--batch", "--passphrase", "", "--quick-gen-key", "claudeauth-test@example.invalid", "default", "default", "never"]);
  const fingerprint = run("gpg", ["--list-keys", "--with-colons"]).split("\n").find((l) => l.startsWith("fpr:"))!.split(":")[9]!;
  run("pass", ["init", fingerprint]);
  return {
    env,
    dir,
    removeSecretKey: () => void run("gpg", ["--batch", "--yes", "--delete-secret-keys", fingerprint]),
    cleanup() {
      try {
        run("gpgconf", ["--kill", "gpg-agent"]);
      } catch {
        // no agent was started
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
