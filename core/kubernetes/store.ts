import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { CAPTURE_META_FILE } from "../layout";
import { makePrivateDir, writeNewFile } from "../safe-fs";
import type { LockOptions } from "../lock";
import {
  ConflictError, InvalidCaptureError, readCapture, sha256,
  type Capture, type CaptureMeta, type CommitMeta, type Draft, type Fill, type LockedStore, type RescueReserve, type Store,
} from "../store";
import { UserError } from "../errors";
import type { EventLog, NewEvent } from "../events";
import { log } from "../output";
import { KubeUnreachableError, type KubeApi } from "./api";
import { formatKubernetesAddress, leaseRef } from "./address";
import { KubeEventLog } from "./events";
import { LeaseLock, type LeaseState } from "./lease";
import { decodeCapture, packCapture, readCaptureFiles, unpackCapture, type CaptureFiles } from "./pack";
import { SecretClient, SecretConflictError, isManaged, type KubeRef, type SecretObject } from "./secret";

// The Kubernetes backend: a store in a Secret, addressed k8s://NAMESPACE/NAME.
//   - The Secret holds the current capture (packed, pack.ts); its generation, and the digests
//     of refresh tokens the endpoint rejected, are annotations; a rescued pair is a data key.
//   - Every write is a compare-and-swap on the resourceVersion last read: the API server
//     answers 409 when anyone wrote since, and we read again instead of overwriting. A 409
//     that is not a newer capture (a label, another annotation) is retried, a few times.
//   - The store's lock is the Lease NAME-refresh (lease.ts): single flight across pods.
//   - A Secret of that name without our label is never written.
//   - The audit trail is Kubernetes Events about the Secret (events.ts).
// Captures are unpacked into a private scratch directory (in the entrypoint, on its tmpfs) and
// validated there with the same code as a directory store's.

const CAPTURE_KEY = "capture.json.gz";
const RESCUE_KEY = "rescue.json";
const GENERATION = "claudeauth/generation";
const REJECTED = "claudeauth/rejected-refresh-tokens";
const KEEP_REJECTED = 16;
const KEEP_UNPACKED = 8;
/** Conflicts in a row before a write gives up: something else keeps writing the Secret. */
export const MAX_CONFLICT_RETRIES = 5;
/** How long a write keeps trying while the API server does not answer (a rotated pair waits in memory meanwhile). */
const UNREACHABLE_RETRY_MS = 20_000;

/** A Secret of the store's name exists without our label: it is never written to. */
export class ForeignSecretError extends UserError {}

export type KubernetesStoreOptions = {
  /** A Lease not renewed for this long is taken over (the directory store's --lock-stale). */
  leaseMs: number;
  /** Where captures are unpacked (a new private directory is made in it): a tmpfs in the entrypoint. */
  scratchParent?: string;
};

export class KubernetesStore implements Store {
  readonly location: string;
  readonly owner = undefined;
  private readonly secret: SecretClient;
  private readonly events: KubeEventLog;
  private scratchDir: string | undefined;
  private unpacked = 0;
  /** Conflicts met and retried, for the bench and the race test's figures. */
  conflicts = 0;

  constructor(
    readonly api: KubeApi,
    readonly ref: KubeRef,
    readonly options: KubernetesStoreOptions,
  ) {
    this.secret = new SecretClient(api, ref);
    this.events = new KubeEventLog(api, ref);
    this.location = formatKubernetesAddress(ref);
  }

  get rescueLocation(): string {
    return `the Secret ${this.ref.namespace}/${this.ref.name} (key ${RESCUE_KEY})`;
  }

  /** Nothing to create before the first commit (which creates the Secret); a Secret that is not ours is refused here. */
  async ensure(): Promise<void> {
    await this.readOurs();
  }

  /** The capture; null before the first commit (no Secret, or one that holds only a rejected token's digest). */
  async readCurrent(): Promise<Capture | null> {
    const secret = await this.readOurs();
    return secret?.data[CAPTURE_KEY] ? this.captureOf(secret) : null;
  }

  async generations(): Promise<number[]> {
    const secret = await this.readOurs();
    return secret?.data[CAPTURE_KEY] ? [generationOf(secret)] : [];
  }

  /** The Secret's capture as it is, undecoded (status shows a broken one instead of failing). */
  async readSecret(): Promise<{ generation: number; packed: Buffer | null } | null> {
    const secret = await this.readOurs();
    return secret ? { generation: generationOf(secret), packed: secret.data[CAPTURE_KEY] ?? null } : null;
  }

  /** The audit trail: Kubernetes Events about the Secret (events.ts). */
  async appendEvent(event: NewEvent): Promise<void> {
    await this.events.append(event);
  }

  async readEvents(): Promise<EventLog> {
    return this.events.read();
  }

  async hasRescue(): Promise<boolean> {
    return Boolean((await this.readOurs())?.data[RESCUE_KEY]);
  }

  async wasRejected(refreshToken: string): Promise<boolean> {
    return rejectedOf(await this.readOurs()).includes(sha256(refreshToken));
  }

  async withLock<T>(fn: (locked: LockedStore) => Promise<T>, options: LockOptions = {}): Promise<T> {
    const lease = new LeaseLock(this.api, leaseRef(this.ref), options.staleMs ?? this.options.leaseMs);
    const timeoutMs = options.timeoutMs ?? Math.max(60_000, 4 * lease.durationMs);
    await lease.acquire(timeoutMs, (holder) => log.info(`waiting for ${holder} (Lease ${lease.ref.namespace}/${lease.ref.name}) to finish with ${this.location}`));
    try {
      return await fn(this.locked(lease));
    } finally {
      await lease.release();
    }
  }

  /** The refresh Lease as it is (doctor); null before the first lock creates it. */
  readLease(): Promise<LeaseState | null> {
    return new LeaseLock(this.api, leaseRef(this.ref), this.options.leaseMs).state();
  }

  async remove(): Promise<void> {
    const secret = await this.readOurs();
    if (secret) await this.secret.delete(secret.resourceVersion);
    await new LeaseLock(this.api, leaseRef(this.ref), this.options.leaseMs).remove();
  }

  private locked(lease: LeaseLock): LockedStore {
    const prepare = async (fill: Fill, meta: CommitMeta): Promise<Draft> => {
      const dir = this.newDir("draft");
      const discard = () => fs.rmSync(dir, { recursive: true, force: true });
      // The capture this draft follows: it is committed only on top of that one.
      const base = await this.readOurs();
      makePrivateDir(dir);
      try {
        fill(dir);
        const fullMeta: CaptureMeta = { schema: 1, capturedAt: new Date().toISOString(), ...meta };
        writeNewFile(path.join(dir, CAPTURE_META_FILE), JSON.stringify(fullMeta, null, 2) + "\n");
        // Nothing too big, and a Secret we may write: found before a refresh token is spent
        // (a refresh's draft gets its credentials afterwards; they are small).
        packCapture(readCaptureFiles(dir));
        await this.secret.assertMayUpdate();
      } catch (error) {
        discard();
        throw error;
      }
      return { dir, commit: () => this.commitDraft(dir, base ? generationOf(base) : 0).finally(discard), discard };
    };
    return {
      readCurrent: () => this.readCurrent(),
      prepare,
      commit: async (fill, meta) => (await prepare(fill, meta)).commit(),
      forgetBefore: async () => {
        // One capture only: nothing older to forget but a rescue.
        await this.update((secret) => ({ data: withoutKey(secret?.data ?? {}, RESCUE_KEY) }));
      },
      assertHeld: () => lease.assertHeld(),
      isRejected: (refreshToken) => this.wasRejected(refreshToken),
      markRejected: async (refreshToken) => {
        await this.update((secret) => {
          const kept = [...rejectedOf(secret).filter((d) => d !== sha256(refreshToken)), sha256(refreshToken)].slice(-KEEP_REJECTED);
          return { annotations: { [REJECTED]: kept.join(",") } };
        }, { create: true });
      },
      readRescue: async () => (await this.readOurs())?.data[RESCUE_KEY]?.toString("utf8") ?? null,
      removeRescue: async () => {
        await this.update((secret) => ({ data: withoutKey(secret?.data ?? {}, RESCUE_KEY) }));
      },
      reserveRescue: async (): Promise<RescueReserve> => ({
        // A Secret has room for it whenever it has room for the capture (checked in prepare).
        write: async (text) => {
          await this.update((secret) => ({ data: { ...secret?.data, [RESCUE_KEY]: Buffer.from(text) } }));
        },
        release: () => undefined,
      }),
    };
  }

  /** Makes a draft current: a compare-and-swap that never overwrites a capture committed meanwhile. */
  private async commitDraft(dir: string, baseGeneration: number): Promise<Capture> {
    readCapture(dir, baseGeneration + 1); // throws InvalidCaptureError: nothing invalid reaches the Secret
    const files = readCaptureFiles(dir);
    const packed = packCapture(files);
    let committed: SecretObject | undefined;
    await this.update((secret, current) => {
      // Someone committed since the draft was made (we lost the Lease meanwhile): theirs stays.
      const generation = secret ? generationOf(secret) : 0;
      if (generation !== baseGeneration) throw new ConflictError(`the store moved from capture ${baseGeneration} to ${generation}`);
      if (current && sameFiles(current, files)) return null; // identical: keep the current capture
      return { data: { ...withoutKey(secret?.data ?? {}, CAPTURE_KEY), [CAPTURE_KEY]: packed }, annotations: { [GENERATION]: String((secret ? generationOf(secret) : 0) + 1) } };
    }, { create: true, onWritten: (written) => (committed = written) });
    return committed ? this.captureOf(committed) : (await this.readCurrent())!;
  }

  /**
   * Read, change, compare-and-swap; on 409, read again and re-apply. The change is computed
   * from what is there, and a capture is committed only on top of the one its draft followed,
   * so a newer capture is never overwritten, whoever holds the Lease by then: the Lease keeps
   * refreshes single-flight (checked before a token is spent), the CAS keeps commits safe.
   */
  private async update(
    change: (secret: SecretObject | null, currentFiles: CaptureFiles | null) => { data?: Record<string, Buffer>; annotations?: Record<string, string> } | null,
    options: { create?: boolean; onWritten?: (secret: SecretObject) => void } = {},
  ): Promise<void> {
    const unreachableUntil = Date.now() + UNREACHABLE_RETRY_MS;
    for (let attempt = 0; ; ) {
      try {
        const secret = await this.readOurs();
        if (!secret && !options.create) return;
        const currentFiles = secret?.data[CAPTURE_KEY] ? filesOf(secret) : null;
        const wanted = change(secret, currentFiles);
        if (!wanted) return;
        const data = wanted.data ?? secret?.data ?? {};
        const annotations = { ...secret?.annotations, ...wanted.annotations };
        const written = secret ? await this.secret.replace(secret.resourceVersion, data, annotations, secret.labels) : await this.secret.create(data, annotations);
        options.onWritten?.(written);
        return;
      } catch (error) {
        if (error instanceof SecretConflictError) {
          this.conflicts++;
          if (++attempt > MAX_CONFLICT_RETRIES) {
            throw new UserError(`the Secret ${this.ref.namespace}/${this.ref.name} changed under each of ${attempt} writes in a row: something else keeps writing it; stop that and try again`);
          }
          await sleep(50 * 2 ** attempt * (0.5 + Math.random()));
        } else if (error instanceof KubeUnreachableError && Date.now() < unreachableUntil) {
          await sleep(500 + Math.random() * 500);
        } else {
          throw error;
        }
      }
    }
  }

  private async readOurs(): Promise<SecretObject | null> {
    const secret = await this.secret.get();
    if (secret && !isManaged(secret)) {
      throw new ForeignSecretError(
        `the Secret ${this.ref.namespace}/${this.ref.name} exists and is not a claudeauth store (it lacks the label app.kubernetes.io/managed-by=claudeauth): it is left untouched; use another name (k8s://${this.ref.namespace}/OTHER)`,
      );
    }
    return secret;
  }

  private captureOf(secret: SecretObject): Capture {
    const generation = generationOf(secret);
    const packed = secret.data[CAPTURE_KEY]!;
    const fix = `log in again with "docker claudeauth setup --store ${this.location}"`;
    const dir = this.newDir(`capture-${generation}`);
    try {
      unpackCapture(packed, dir);
      return readCapture(dir, generation, { lenient: true });
    } catch (error) {
      fs.rmSync(dir, { recursive: true, force: true });
      if (error instanceof InvalidCaptureError) {
        throw new InvalidCaptureError(`the Secret ${this.ref.namespace}/${this.ref.name} holds no usable capture (${error.problem}); ${fix}`, error.problem);
      }
      throw error;
    }
  }

  /** A new path in our private scratch dir; unpacked captures older than the last few go (a long run reads many). */
  private newDir(what: string): string {
    if (!this.scratchDir) {
      const scratch = fs.mkdtempSync(path.join(this.options.scratchParent ?? os.tmpdir(), "claudeauth-k8s-"));
      process.once("exit", () => fs.rmSync(scratch, { recursive: true, force: true }));
      this.scratchDir = scratch;
    }
    const n = ++this.unpacked;
    for (const name of fs.readdirSync(this.scratchDir)) {
      if (name.startsWith("capture-") && Number(name.slice(name.lastIndexOf("-") + 1)) <= n - KEEP_UNPACKED) {
        fs.rmSync(path.join(this.scratchDir, name), { recursive: true, force: true });
      }
    }
    return path.join(this.scratchDir, `${what}-${n}`);
  }
}

function generationOf(secret: SecretObject): number {
  const value = Number(secret.annotations[GENERATION] ?? "0");
  return Number.isSafeInteger(value) && value >= 0 ? value : 0;
}

function rejectedOf(secret: SecretObject | null): string[] {
  return (secret?.annotations[REJECTED] ?? "").split(",").filter(Boolean);
}

function filesOf(secret: SecretObject): CaptureFiles | null {
  try {
    return decodeCapture(secret.data[CAPTURE_KEY]!);
  } catch {
    return null; // unreadable: any draft replaces it
  }
}

/** The same files but for the capture metadata (which carries a time). */
function sameFiles(a: CaptureFiles, b: CaptureFiles): boolean {
  const keys = (f: CaptureFiles) => Object.keys(f).filter((k) => k !== CAPTURE_META_FILE).sort();
  const [ka, kb] = [keys(a), keys(b)];
  return ka.join("\0") === kb.join("\0") && ka.every((k) => a[k] === b[k]);
}

function withoutKey(data: Record<string, Buffer>, key: string): Record<string, Buffer> {
  return Object.fromEntries(Object.entries(data).filter(([k]) => k !== key));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
