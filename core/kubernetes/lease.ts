import crypto from "node:crypto";
import os from "node:os";
import { LockLostError, LockTimeoutError } from "../lock";
import { KubeApi, KubeUnreachableError, apiError, type KubeResponse } from "./api";
import type { KubeRef } from "./secret";

// Single-flight refresh across pods: a coordination.k8s.io/v1 Lease NAME-refresh, taken the
// way client-go's leader election takes one. A holder renews it every third of its duration;
// a waiter takes it only after it has seen the same record, unchanged, for a whole duration
// on its own clock (clocks of different nodes are never compared), or at once when the holder
// released it. A holder that cannot renew in time stops counting itself the holder before
// anyone else could take the Lease, and never spends a token after that.

type RawLease = {
  metadata?: { resourceVersion?: string };
  spec?: { holderIdentity?: string | null; leaseDurationSeconds?: number; acquireTime?: string | null; renewTime?: string | null; leaseTransitions?: number };
};

/** Who holds a Lease and since when, as its record says (doctor); times on the writer's clock. */
export type LeaseState = { holder: string | null; renewTime: string | null; durationSeconds: number | null };

/** The Lease was lost (taken over or not renewed in time): nothing may be spent under it any more. */
export class LeaseLostError extends LockLostError {}

const POLL_MS = 300;

export class LeaseLock {
  /** Who we are in holderIdentity: the pod (host) name, our pid and a nonce (never a secret). */
  readonly identity = `${os.hostname()}/${process.pid}/${crypto.randomBytes(4).toString("hex")}`;
  private resourceVersion = "";
  private spec: NonNullable<RawLease["spec"]> = {};
  private renewedAt = 0;
  private renewing = false;
  private renewer: NodeJS.Timeout | undefined;
  private lost: string | null = null;

  constructor(
    readonly api: KubeApi,
    readonly ref: KubeRef,
    readonly durationMs: number,
  ) {}

  private get seconds(): number {
    return Math.max(1, Math.ceil(this.durationMs / 1000));
  }

  private get path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.ref.namespace)}/leases/${encodeURIComponent(this.ref.name)}`;
  }

  /** Waits for the Lease (at most `timeoutMs`), takes it and keeps renewing it until release(). */
  async acquire(timeoutMs: number, onWait: (holder: string) => void = () => {}): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let seen = { resourceVersion: "", at: 0 };
    let told = false;
    for (;;) {
      let lease: RawLease | null;
      try {
        lease = await this.read();
      } catch (error) {
        // While the API server does not answer, the holder cannot renew nor commit what it
        // refreshed: its Lease counts as expired only after a whole duration seen *after* that.
        if (!(error instanceof KubeUnreachableError) || Date.now() > deadline) throw error;
        seen = { resourceVersion: "", at: 0 };
        await sleep(POLL_MS + Math.random() * POLL_MS);
        continue;
      }
      const holder = lease?.spec?.holderIdentity ?? "";
      const version = lease?.metadata?.resourceVersion ?? "";
      if (version !== seen.resourceVersion) seen = { resourceVersion: version, at: Date.now() };
      const free = !lease || !holder || holder === this.identity || Date.now() - seen.at >= (lease.spec?.leaseDurationSeconds ?? this.seconds) * 1000;
      if (free && (await this.take(lease))) {
        this.renewer = setInterval(() => void this.renew(), Math.max(200, this.durationMs / 3));
        this.renewer.unref();
        return;
      }
      if (!free && !told) {
        onWait(holder);
        told = true;
      }
      if (Date.now() > deadline) {
        throw new LockTimeoutError(`the refresh Lease ${this.ref.namespace}/${this.ref.name} stayed held by ${holder} for ${Math.round(timeoutMs / 1000)}s: try again later`);
      }
      await sleep(POLL_MS + Math.random() * POLL_MS);
    }
  }

  /** The Lease's record as it is; null when it does not exist yet. */
  async state(): Promise<LeaseState | null> {
    const lease = await this.read();
    if (!lease) return null;
    return { holder: lease.spec?.holderIdentity || null, renewTime: lease.spec?.renewTime || null, durationSeconds: lease.spec?.leaseDurationSeconds ?? null };
  }

  /** Deletes the Lease (the store is removed). */
  async remove(): Promise<void> {
    const response = await this.api.request("DELETE", this.path);
    if (response.status !== 200 && response.status !== 404) throw this.error(response, "delete");
  }

  /** Throws unless we hold the Lease with time to spare: checked right before a token is spent. */
  assertHeld(): void {
    if (this.lost) throw new LeaseLostError(`lost the refresh Lease ${this.ref.namespace}/${this.ref.name} (${this.lost})`);
    // Stop counting ourselves the holder well before a waiter could count the Lease expired.
    if (Date.now() - this.renewedAt > (this.durationMs * 2) / 3) {
      throw new LeaseLostError(`could not renew the refresh Lease ${this.ref.namespace}/${this.ref.name} in time`);
    }
  }

  /** Gives the Lease up (holder cleared) so a waiter need not wait for it to expire. */
  async release(): Promise<void> {
    clearInterval(this.renewer);
    if (this.lost) return;
    this.lost = "released";
    try {
      await this.write({ ...this.spec, holderIdentity: null, acquireTime: null, renewTime: null });
    } catch {
      // Unreachable or changed: it expires by itself.
    }
  }

  private async read(): Promise<RawLease | null> {
    const response = await this.api.request<RawLease>("GET", this.path);
    if (response.status === 404) return null;
    if (response.status !== 200) throw this.error(response, "get");
    return response.body;
  }

  /** Creates or takes over the Lease; false when another taker got it first. */
  private async take(lease: RawLease | null): Promise<boolean> {
    const now = microTime();
    const spec = { holderIdentity: this.identity, leaseDurationSeconds: this.seconds, acquireTime: now, renewTime: now, leaseTransitions: (lease?.spec?.leaseTransitions ?? 0) + (lease ? 1 : 0) };
    const response = lease
      ? await this.api.request<RawLease>("PUT", this.path, this.manifest(spec, lease.metadata?.resourceVersion))
      : await this.api.request<RawLease>("POST", this.path.slice(0, this.path.lastIndexOf("/")), this.manifest(spec));
    if (response.status === 409) return false;
    if (response.status !== 200 && response.status !== 201) throw this.error(response, lease ? "update" : "create");
    this.resourceVersion = response.body.metadata?.resourceVersion ?? "";
    this.spec = spec;
    this.renewedAt = Date.now();
    this.lost = null;
    return true;
  }

  private async renew(): Promise<void> {
    if (this.lost || this.renewing) return;
    this.renewing = true;
    const started = Date.now();
    try {
      const spec = { ...this.spec, renewTime: microTime() };
      const response = await this.write(spec);
      if (response.status === 200) {
        this.resourceVersion = response.body.metadata?.resourceVersion ?? "";
        this.spec = spec;
        this.renewedAt = started;
      } else if (response.status === 409) {
        this.lost = "someone else wrote it";
      }
    } catch (error) {
      if (!(error instanceof KubeUnreachableError)) this.lost = String(error);
      // Unreachable: assertHeld() gives up once the last renewal is too old.
    } finally {
      this.renewing = false;
    }
  }

  /** A PUT on the version we hold: 409 if anyone else wrote the Lease since. */
  private write(spec: RawLease["spec"]): Promise<KubeResponse<RawLease>> {
    return this.api.request<RawLease>("PUT", this.path, this.manifest(spec, this.resourceVersion));
  }

  private manifest(spec: RawLease["spec"], resourceVersion?: string) {
    return { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: this.ref.name, namespace: this.ref.namespace, resourceVersion }, spec };
  }

  private error(response: KubeResponse<unknown>, verb: string): Error {
    return apiError(response, { verb, resource: "leases.coordination.k8s.io", ...this.ref }, this.api.connection.identity);
  }
}

/** RFC 3339 with microseconds, as the Lease's MicroTime fields want. */
function microTime(date = new Date()): string {
  return date.toISOString().replace(/Z$/, "000Z");
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
