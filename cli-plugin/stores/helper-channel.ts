import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { encodeBundle, parseBundle, type CaptureBundle } from "../../core/capture-bundle";
import { encodeMessage, LineDecoder, parseToPlugin, type ToEntrypoint, type ToPlugin } from "../../core/channel-protocol";
import { acquireLock, type Lock } from "../../core/lock";
import { errorMessage, UserError } from "../../core/errors";
import { log } from "../../core/output";
import type { CredentialHelper } from "./credential-helper";

// The plugin's end of the channel to one container of a helper store (core/channel-protocol.ts).
// The capture never touches a disk: it goes from the helper's stdout through this process's
// memory and a unix socket into the entrypoint's tmpfs, and rotated tokens come back the same
// way. The socket lives in a fresh 0700 directory of ours, bind-mounted into the container;
// the first connection (the entrypoint's, made before it starts the workload) is the only one:
// the listener is closed and the socket and its directory removed at once, so the workload,
// which runs with the host user's uid, finds nothing to connect to.
//
// Writes into the helper happen under a lock of ours (one per helper and profile, shared by
// every plugin process of this user) and by compare-and-swap on the capture's generation, so a
// newer capture is never overwritten. Before the entrypoint spends a refresh token (its `lock`
// request) the current entry is written back once: a locked keychain or a missing GPG key
// stops the refresh while the old token is still good. A rotated pair whose write fails after
// all is kept in memory and retried until this process ends (README, "Encrypted store").

export const CHANNEL_DIR_IN_CONTAINER = "/var/lib/claudeauth/channel";
export const CHANNEL_SOCKET_NAME = "socket";
const RETRY_MS = 3_000;
/** How long a run's end waits for a rotated pair the helper has not taken yet. */
const FINAL_RETRY_MS = 120_000;

export class HelperChannel {
  private server: net.Server | null;
  private connection: net.Socket | null = null;
  private lock: Lock | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  /** A capture the helper has not taken yet (its write failed): it wins over what the helper holds. */
  private pending: CaptureBundle | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private work: Promise<unknown> = Promise.resolve();
  /** Why the connection ended badly, if it did. */
  private problem: string | null = null;
  readonly connected: Promise<void>;

  private constructor(
    private readonly helper: CredentialHelper,
    private readonly profile: string,
    private readonly lockDir: string,
    readonly dir: string,
    server: net.Server,
  ) {
    this.server = server;
    this.connected = new Promise((resolve) => server.once("connection", (socket) => resolve(this.accept(socket))));
  }

  /** Listens on a socket in a fresh private directory; `lockDir` is the store's lock (no secret in it). */
  static async open(helper: CredentialHelper, profile: string, lockDir: string): Promise<HelperChannel> {
    const base = process.env.XDG_RUNTIME_DIR && isPrivateDir(process.env.XDG_RUNTIME_DIR) ? process.env.XDG_RUNTIME_DIR : os.tmpdir();
    const dir = fs.mkdtempSync(path.join(base, "claudeauth-channel-"));
    fs.chmodSync(dir, 0o700);
    fs.mkdirSync(path.dirname(lockDir), { recursive: true, mode: 0o700 });
    const server = net.createServer({ allowHalfOpen: false });
    server.maxConnections = 1;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(path.join(dir, CHANNEL_SOCKET_NAME), () => resolve());
    });
    return new HelperChannel(helper, profile, lockDir, dir, server);
  }

  /** `docker run` flags: the channel directory and where the entrypoint finds the socket. */
  containerFlags(): string[] {
    return ["--mount", `type=bind,source=${this.dir},target=${CHANNEL_DIR_IN_CONTAINER}`, "-e", `CLAUDEAUTH_CHANNEL=${CHANNEL_DIR_IN_CONTAINER}/${CHANNEL_SOCKET_NAME}`];
  }

  private accept(socket: net.Socket): void {
    this.stopListening();
    this.connection = socket;
    const decoder = new LineDecoder();
    socket.on("data", (chunk: Buffer) => {
      let lines: string[];
      try {
        lines = decoder.push(chunk);
      } catch (error) {
        this.problem = errorMessage(error);
        socket.destroy();
        return;
      }
      for (const line of lines) this.work = this.work.then(() => this.handle(line));
    });
    socket.on("error", (error) => (this.problem ??= errorMessage(error)));
    socket.on("close", () => void this.work.then(() => this.releaseLock()));
    this.work = this.work.then(async () => {
      let bundle: CaptureBundle | null = null;
      try {
        bundle = await this.current();
      } catch (error) {
        // The entrypoint is told nothing: it stops with "no capture", and we say why.
        this.problem = errorMessage(error);
        socket.destroy();
        return;
      }
      this.send({ type: "hello", bundle });
    });
  }

  /** The listener goes at the first connection: nobody else may connect, ever. */
  private stopListening(): void {
    this.server?.close();
    this.server = null;
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private async handle(line: string): Promise<void> {
    let message: ToPlugin;
    try {
      message = parseToPlugin(line);
    } catch (error) {
      this.problem = errorMessage(error);
      this.connection?.destroy();
      return;
    }
    if (message.type === "lock") {
      try {
        await this.takeLock();
        const bundle = await this.current();
        // Proves the helper takes a write now, before a refresh token is spent.
        if (this.pending) await this.flush();
        else if (bundle) await this.helper.store(this.profile, encodeBundle(bundle));
        this.send({ type: "locked", id: message.id, bundle });
      } catch (error) {
        this.releaseLock();
        this.send({ type: "failed", id: message.id, message: errorMessage(error) });
      }
    } else if (message.type === "unlock") {
      this.releaseLock();
      this.send({ type: "unlocked", id: message.id });
    } else if (message.type === "erase") {
      try {
        await this.erase();
        this.send({ type: "erased", id: message.id });
      } catch (error) {
        this.send({ type: "failed", id: message.id, message: errorMessage(error) });
      }
    } else this.send(await this.commit(message));
  }

  private async commit(message: ToPlugin & { type: "commit" }): Promise<ToEntrypoint> {
    const temporary = !this.lock;
    try {
      if (temporary) await this.takeLock();
      const current = await this.current();
      if ((current?.generation ?? null) !== message.base || message.bundle.generation <= (current?.generation ?? 0)) {
        return { type: "conflict", id: message.id, bundle: current };
      }
      this.pending = message.bundle;
      await this.flush();
      return { type: "committed", id: message.id };
    } catch (error) {
      if (this.pending) this.scheduleRetry(error);
      return { type: "failed", id: message.id, message: errorMessage(error) };
    } finally {
      if (temporary) this.releaseLock();
    }
  }

  /** Removes the profile's entry, under the lock (a capture waiting to be written goes too). */
  private async erase(): Promise<void> {
    const temporary = !this.lock;
    try {
      if (temporary) await this.takeLock();
      this.pending = null;
      this.stopRetry();
      await this.helper.erase(this.profile);
    } finally {
      if (temporary) this.releaseLock();
    }
  }

  /** What the helper holds, or the capture it has not taken yet. */
  private async current(): Promise<CaptureBundle | null> {
    if (this.pending) return this.pending;
    const secret = await this.helper.get(this.profile);
    if (secret === null) return null;
    try {
      return parseBundle(secret);
    } catch (error) {
      throw new UserError(`the entry claudeauth://${this.profile} of docker-credential-${this.helper.name} is not a capture (${errorMessage(error)}): log in again with docker claudeauth setup`);
    }
  }

  private async flush(): Promise<void> {
    if (!this.pending) return;
    await this.helper.store(this.profile, encodeBundle(this.pending));
    this.pending = null;
  }

  private scheduleRetry(cause: unknown): void {
    if (this.retryTimer) return;
    log.warn(`the refreshed login is not in docker-credential-${this.helper.name} yet (${errorMessage(cause)}): it is kept in memory and retried every ${RETRY_MS / 1000}s`);
    this.retryTimer = setInterval(() => {
      this.work = this.work.then(async () => {
        try {
          await this.flush();
          this.stopRetry();
          log.info(`wrote the refreshed login into docker-credential-${this.helper.name}`);
        } catch {
          // still failing: the next tick tries again
        }
      });
    }, RETRY_MS);
  }

  private stopRetry(): void {
    if (this.retryTimer) clearInterval(this.retryTimer);
    this.retryTimer = null;
  }

  private async takeLock(): Promise<void> {
    if (this.lock) return;
    this.lock = await acquireLock(this.lockDir);
    const lock = this.lock;
    this.heartbeat = setInterval(() => lock.heartbeat(), 5_000);
  }

  private releaseLock(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    this.lock?.release();
    this.lock = null;
  }

  private send(message: ToEntrypoint): void {
    this.connection?.write(encodeMessage(message));
  }

  /**
   * After the container: the socket is gone either way; a rotated pair the helper has not
   * taken yet is retried for a while, and if it still cannot be written, that is an error
   * (the old refresh token is spent: the login must be made again).
   */
  async close(): Promise<string | null> {
    this.stopListening();
    this.connection?.destroy();
    await this.work;
    this.stopRetry();
    const deadline = Date.now() + FINAL_RETRY_MS;
    while (this.pending) {
      try {
        await this.takeLock();
        await this.flush();
        log.info(`wrote the refreshed login into docker-credential-${this.helper.name}`);
      } catch (error) {
        if (Date.now() > deadline) {
          this.releaseLock();
          throw new UserError(
            `the refreshed login could not be written into docker-credential-${this.helper.name} (${errorMessage(error)}); its old refresh token is spent: log in again with docker claudeauth setup`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
    this.releaseLock();
    return this.problem;
  }
}

function isPrivateDir(dir: string): boolean {
  try {
    const stat = fs.statSync(dir);
    return stat.isDirectory() && stat.uid === process.getuid?.() && (stat.mode & 0o077) === 0;
  } catch {
    return false;
  }
}
