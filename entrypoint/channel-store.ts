import fs from "node:fs";
import path from "node:path";
import { bundleFromDir, writeBundleInto, type CaptureBundle } from "../core/capture-bundle";
import { DEFAULT_STORE_IN_CONTAINER, generationName } from "../core/layout";
import { ConflictError, type Capture, type Draft, type LockedStore, type Store } from "../core/store";
import { DirStore } from "../core/store-dir";
import type { LockOptions } from "../core/lock";
import type { EventLog } from "../core/events";
import { UserError } from "../core/errors";
import { log } from "../core/output";
import { PluginChannel } from "./channel";

// A store kept by a Docker credential helper on the host, as the entrypoint sees it: the
// plugin holds the helper and the other end of a channel (entrypoint/channel.ts). The capture
// lives here in a mirror — a directory store on a tmpfs of the container, root's and 0700 —
// so every rule of the directory store (validation, draft and commit, rescue, rejected
// tokens) applies unchanged. The lock is the plugin's: taking it also brings the helper's
// newest capture (another run may have rotated the tokens); every commit made under it goes
// back to the plugin, which writes it into the helper by compare-and-swap.

const TMPFS_MAGIC = 0x01021994;
/** Where the entrypoint keeps its copy of a helper store: the plugin mounts a tmpfs there (root's, 0700). */
export const HELPER_MIRROR = DEFAULT_STORE_IN_CONTAINER;

export class ChannelStore implements Store {
  private channel: PluginChannel | null = null;
  private readonly mirror: DirStore;

  constructor(
    readonly helper: string,
    private readonly socketPath: string,
    mirrorRoot: string,
  ) {
    this.mirror = new DirStore(mirrorRoot);
  }

  get location(): string {
    return `helper:${this.helper}`;
  }

  /** Where the capture is kept in the container (a tmpfs). */
  get mirrorRoot(): string {
    return this.mirror.root;
  }

  get rescueLocation(): string {
    return `the memory of this container (${this.mirror.rescueLocation}, a tmpfs) and of the docker claudeauth that started it`;
  }

  readonly owner = undefined;

  async ensure(): Promise<void> {
    await this.connect();
  }

  async readCurrent(): Promise<Capture | null> {
    await this.connect();
    return this.mirror.readCurrent();
  }

  async generations(): Promise<number[]> {
    await this.connect();
    return this.mirror.generations();
  }

  async hasRescue(): Promise<boolean> {
    await this.connect();
    return this.mirror.hasRescue();
  }

  async wasRejected(refreshToken: string): Promise<boolean> {
    await this.connect();
    return this.mirror.wasRejected(refreshToken);
  }

  async withLock<T>(fn: (locked: LockedStore) => Promise<T>, options?: LockOptions): Promise<T> {
    // One holder at a time in this process too: the plugin's lock is per connection.
    const turn = this.holders.then(() => this.holdLock(fn, options));
    this.holders = turn.catch(() => undefined);
    return turn;
  }

  private holders: Promise<unknown> = Promise.resolve();

  private async holdLock<T>(fn: (locked: LockedStore) => Promise<T>, options?: LockOptions): Promise<T> {
    const channel = await this.connect();
    const answer = await channel.lock();
    if (answer.type !== "locked") throw new UserError(`cannot lock the store ${this.location}: ${answer.type === "failed" ? answer.message : answer.type}`);
    try {
      if (answer.bundle) this.adopt(answer.bundle);
      return await this.mirror.withLock((locked) => fn(this.pushing(locked, channel)), options);
    } finally {
      await channel.unlock().catch(() => undefined);
    }
  }

  /** Removes the profile's entry from the helper, and this container's copy. */
  async remove(): Promise<void> {
    const answer = await (await this.connect()).erase();
    if (answer.type !== "erased") throw new UserError(`cannot remove the store ${this.location}: ${answer.type === "failed" ? answer.message : answer.type}`);
    await this.mirror.remove();
  }

  // No event log: a helper entry holds one capture (core/capture-bundle.ts), and the mirror
  // is gone with the container. Events would have to travel over the channel to the plugin
  // and into the entry; until then, `docker claudeauth events` shows none for a helper store.
  async appendEvent(): Promise<void> {}

  async readEvents(): Promise<EventLog> {
    return { events: [], skipped: 0 };
  }

  /** Connects once (before the workload starts: the plugin accepts one connection only) and fills the mirror. */
  private async connect(): Promise<PluginChannel> {
    if (this.channel) return this.channel;
    this.refuseDiskMirror();
    const channel = await PluginChannel.connect(this.socketPath);
    await this.mirror.ensure();
    if (channel.hello) this.adopt(channel.hello);
    this.channel = channel;
    return channel;
  }

  /** The mirror holds a refresh token: it must be memory, never a disk of the engine's. */
  private refuseDiskMirror(): void {
    const parent = fs.existsSync(this.mirror.root) ? this.mirror.root : path.dirname(this.mirror.root);
    if (fs.statfsSync(parent).type !== TMPFS_MAGIC) {
      throw new UserError(`the working copy of ${this.location} must be in memory: mount a tmpfs at ${this.mirror.root} (docker claudeauth does)`);
    }
  }

  /** Makes the helper's capture current in the mirror, unless the mirror already has it (or a newer one). */
  private adopt(bundle: CaptureBundle): void {
    if (bundle.generation <= (this.mirror.currentGeneration() ?? 0)) return;
    const capturesDir = path.join(this.mirror.root, "captures");
    const temp = path.join(capturesDir, `.adopt-${process.pid}-${Date.now()}`);
    writeBundleInto(bundle, temp);
    fs.renameSync(temp, path.join(capturesDir, generationName(bundle.generation)));
  }

  /** The mirror's lock holder, with every commit sent on to the helper. */
  private pushing(locked: LockedStore, channel: PluginChannel): LockedStore {
    const push = async (capture: Capture, base: number | null): Promise<Capture> => {
      if (capture.generation === base) return capture; // identical to the current one: dropped
      const answer = await channel.commit(bundleFromDir(capture.dir, capture.generation), base);
      if (answer.type === "conflict") {
        throw new ConflictError(`the store ${this.location} moved to capture ${answer.bundle?.generation ?? "none"} meanwhile (a writer outside the lock)`);
      }
      if (answer.type === "failed") {
        // The plugin keeps it in memory and retries; the mirror has it too, for this run.
        log.warn(`capture ${capture.generation} is not in ${this.location} yet (${answer.message}): the plugin keeps it and retries`);
      }
      return capture;
    };
    const base = () => this.mirror.currentGeneration();
    return {
      ...locked,
      prepare: async (fill, meta): Promise<Draft> => {
        const draft = await locked.prepare(fill, meta);
        const from = base();
        return { ...draft, commit: async () => push(await draft.commit(), from) };
      },
      commit: async (fill, meta) => {
        const from = base();
        return push(await locked.commit(fill, meta), from);
      },
    };
  }
}
