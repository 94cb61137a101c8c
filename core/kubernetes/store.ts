import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { CAPTURE_META_FILE } from "../layout";
import { makePrivateDir, writeNewFile } from "../safe-fs";
import { ConflictError, InvalidCaptureError, readCapture, sha256, type Capture, type CaptureMeta } from "../store";
import { UserError } from "../errors";
import { log } from "../output";
import type { KubeApi } from "./api";
import { formatKubernetesAddress, leaseRef } from "./address";
import { LeaseLock } from "./lease";
import { packCapture, unpackCapture } from "./pack";
import { SecretClient, SecretConflictError, isManaged, type KubeRef, type SecretObject } from "./secret";

// A store in a Kubernetes Secret: one current capture (packed, pack.ts), its generation and
// the digests of refresh tokens the endpoint rejected in annotations. Every write is a
// compare-and-swap on the resourceVersion we read; a 409 means someone else wrote, and we
// read again instead of overwriting. A Secret of the same name that is not labelled ours is
// never written. Captures are unpacked into a private scratch directory and validated there
// with the same code as a directory store's.

const CAPTURE_KEY = "capture.json.gz";
const GENERATION = "claudeauth/generation";
const REJECTED = "claudeauth/rejected-refresh-tokens";
const KEEP_REJECTED = 16;
const KEEP_UNPACKED = 8;
/** A 409 that is not someone's commit (labels, another annotation) is retried this many times. */
export const MAX_CONFLICT_RETRIES = 5;

export type KubernetesStoreOptions = {
  /** How long a refresh Lease lasts without renewal (the directory store's lock-stale time). */
  leaseMs: number;
  /** Where captures are unpacked: a new private directory is made in it. */
  scratchParent?: string;
};

export class KubernetesStore {
  readonly secret: SecretClient;
  readonly address: string;
  private readonly scratch: string;
  private unpacked = 0;
  /** The Secret as last read: the base of the next compare-and-swap. */
  private last: SecretObject | null = null;
  /** Conflicts met and retried (for the bench and the race test's figures). */
  conflicts = 0;

  constructor(
    readonly api: KubeApi,
    readonly ref: KubeRef,
    readonly options: KubernetesStoreOptions,
  ) {
    this.secret = new SecretClient(api, ref);
    this.address = formatKubernetesAddress(ref);
    this.scratch = fs.mkdtempSync(path.join(options.scratchParent ?? os.tmpdir(), "claudeauth-k8s-"));
    process.once("exit", () => fs.rmSync(this.scratch, { recursive: true, force: true }));
  }

  /** The current capture; null when the Secret does not exist yet. */
  async readCurrent(): Promise<Capture | null> {
    const secret = await this.readOurs();
    return secret ? this.captureOf(secret) : null;
  }

  /** The current generation (0 before the first commit), as last read. */
  get generation(): number | null {
    return this.last ? generationOf(this.last) : null;
  }

  /**
   * Validates the draft built by `fill` and makes it current. With `expectedGeneration` a
   * commit made by anyone since is a ConflictError; without, ours goes on top of theirs.
   */
  async commit(fill: (draftDir: string) => void, meta: Omit<CaptureMeta, "schema" | "capturedAt">, options: { expectedGeneration?: number | null } = {}): Promise<Capture> {
    const draft = this.newDir("draft");
    try {
      makePrivateDir(draft);
      fill(draft);
      const fullMeta: CaptureMeta = { schema: 1, capturedAt: new Date().toISOString(), ...meta };
      writeNewFile(path.join(draft, CAPTURE_META_FILE), JSON.stringify(fullMeta, null, 2) + "\n");
      readCapture(draft, 0); // throws InvalidCaptureError: nothing invalid reaches the Secret
      const packed = packCapture(draft);
      for (let attempt = 0; ; attempt++) {
        const base = attempt === 0 && this.last ? this.last : await this.readOurs();
        const current = base ? generationOf(base) : null;
        if (options.expectedGeneration !== undefined && options.expectedGeneration !== current) {
          throw new ConflictError(`the store moved from capture ${options.expectedGeneration} to ${current}`);
        }
        try {
          const written = await this.write(base, { [CAPTURE_KEY]: packed }, { [GENERATION]: String((current ?? 0) + 1) });
          return this.captureOf(written);
        } catch (error) {
          if (!(error instanceof SecretConflictError)) throw error;
          this.conflicts++;
          this.last = null;
          if (attempt >= MAX_CONFLICT_RETRIES) {
            throw new UserError(`the Secret ${this.address} changed under every one of ${attempt + 1} writes: something else keeps writing to it; stop it and try again`);
          }
          await sleep(50 * 2 ** attempt * (0.5 + Math.random()));
        }
      }
    } finally {
      fs.rmSync(draft, { recursive: true, force: true });
    }
  }

  /** Whether the token endpoint already rejected this refresh token (it is never sent again). */
  isRejected(refreshToken: string): boolean {
    return rejectedOf(this.last).includes(sha256(refreshToken));
  }

  /** Remembers (by digest, in an annotation) a refresh token the endpoint rejected. */
  async markRejected(refreshToken: string): Promise<void> {
    for (let attempt = 0; attempt <= MAX_CONFLICT_RETRIES; attempt++) {
      const base = await this.readOurs();
      if (!base) return;
      const kept = [...rejectedOf(base).filter((d) => d !== sha256(refreshToken)), sha256(refreshToken)].slice(-KEEP_REJECTED);
      try {
        await this.write(base, base.data, { [REJECTED]: kept.join(",") });
        return;
      } catch (error) {
        if (!(error instanceof SecretConflictError)) throw error;
        this.conflicts++;
      }
    }
  }

  /** Single flight: `work` runs while we hold the Lease NAME-refresh; it calls assertHeld() right before spending a token. */
  async withRefreshLease<T>(work: (assertHeld: () => void) => Promise<T>): Promise<T> {
    const lease = new LeaseLock(this.api, leaseRef(this.ref), this.options.leaseMs);
    await lease.acquire(Math.max(60_000, 4 * this.options.leaseMs), (holder) => log.info(`waiting for ${holder} to finish refreshing (Lease ${this.ref.namespace}/${lease.ref.name})`));
    try {
      return await work(() => lease.assertHeld());
    } finally {
      await lease.release();
    }
  }

  /** Creates the refresh Lease if it is missing (setup, with the user's rights: pods need no create). */
  async ensureLease(): Promise<void> {
    const lease = new LeaseLock(this.api, leaseRef(this.ref), this.options.leaseMs);
    await lease.ensureExists();
  }

  private async readOurs(): Promise<SecretObject | null> {
    const secret = await this.secret.get();
    if (secret && !isManaged(secret)) {
      throw new UserError(
        `the Secret ${this.ref.namespace}/${this.ref.name} exists and is not a claudeauth store (no label app.kubernetes.io/managed-by=claudeauth): it is left as it is; use another name (k8s://${this.ref.namespace}/OTHER)`,
      );
    }
    this.last = secret;
    return secret;
  }

  private async write(base: SecretObject | null, data: Record<string, Buffer>, annotations: Record<string, string>): Promise<SecretObject> {
    const written = base
      ? await this.secret.replace(base.resourceVersion, data, { ...base.annotations, ...annotations }, base.labels)
      : await this.secret.create(data, annotations);
    this.last = written;
    return written;
  }

  private captureOf(secret: SecretObject): Capture {
    const generation = generationOf(secret);
    const packed = secret.data[CAPTURE_KEY];
    if (!packed) throw new InvalidCaptureError(`the Secret ${this.address} holds no capture: log in again with "docker claudeauth setup --store ${this.address}"`);
    const dir = this.newDir(`capture-${generation}`);
    try {
      unpackCapture(packed, dir);
      return readCapture(dir, generation, { lenient: true });
    } catch (error) {
      if (error instanceof InvalidCaptureError) {
        throw new InvalidCaptureError(`the Secret ${this.address} holds no usable capture (${error.problem}); log in again with "docker claudeauth setup --store ${this.address}"`, error.problem);
      }
      throw error;
    }
  }

  /** A new path in the scratch dir; unpacked captures older than the last few are removed (a long run reads many). */
  private newDir(what: string): string {
    const dir = path.join(this.scratch, `${what}-${++this.unpacked}`);
    for (const name of fs.readdirSync(this.scratch)) {
      const n = Number(name.slice(name.lastIndexOf("-") + 1));
      if (name.startsWith("capture-") && n <= this.unpacked - KEEP_UNPACKED) fs.rmSync(path.join(this.scratch, name), { recursive: true, force: true });
    }
    return dir;
  }
}

function generationOf(secret: SecretObject): number {
  const value = Number(secret.annotations[GENERATION] ?? "0");
  return Number.isSafeInteger(value) && value >= 0 ? value : 0;
}

function rejectedOf(secret: SecretObject | null): string[] {
  return (secret?.annotations[REJECTED] ?? "").split(",").filter(Boolean);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
