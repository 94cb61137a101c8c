import type net from "node:net";
import type { CaptureBundle } from "../core/capture-bundle";
import { ChannelError, encodeMessage, LineDecoder, parseToEntrypoint, type ToEntrypoint, type ToPlugin } from "../core/channel-protocol";
import { errorMessage } from "../core/errors";

// The entrypoint's end of the plugin's channel (a store kept by a credential helper; see
// cli-plugin/stores/helper-channel.ts). Connected once, as root, before anything of the
// workload runs; the plugin removes the socket as soon as we are connected.

const HELLO_TIMEOUT_MS = 120_000; // the plugin may wait for a helper that asks to be unlocked

type Request = { type: "lock" } | { type: "commit"; bundle: CaptureBundle; base: number | null } | { type: "unlock" } | { type: "erase" };
type Waiter = { resolve(answer: ToEntrypoint): void; reject(error: Error): void };

export class PluginChannel {
  private nextId = 1;
  private readonly waiters = new Map<number, Waiter>();
  private closed: Error | null = null;

  private constructor(
    private readonly socket: net.Socket,
    readonly hello: CaptureBundle | null,
  ) {}

  static connect(socketPath: string): Promise<PluginChannel> {
    return new Promise((resolve, reject) => {
      // Loaded on first use: only a credential-helper store needs net, and every start would pay for it.
      const socket = process.getBuiltinModule("node:net").createConnection(socketPath);
      const decoder = new LineDecoder();
      let channel: PluginChannel | null = null;
      const fail = (error: Error) => {
        clearTimeout(timer);
        if (!channel) reject(error);
        else channel.fail(error);
      };
      const timer = setTimeout(() => {
        socket.destroy();
        fail(new ChannelError(`the plugin sent no capture within ${HELLO_TIMEOUT_MS / 1000}s on ${socketPath}`));
      }, HELLO_TIMEOUT_MS);
      socket.on("error", (error) =>
        fail(new ChannelError(`cannot use the plugin's channel ${socketPath} (${errorMessage(error)}): start this container with docker claudeauth, which holds the other end`)),
      );
      socket.on("close", () => fail(new ChannelError("the plugin closed the channel (it stopped, or could not read the credential helper: its message says why)")));
      socket.on("data", (chunk: Buffer) => {
        try {
          for (const line of decoder.push(chunk)) {
            const message = parseToEntrypoint(line);
            if (!channel) {
              if (message.type !== "hello") throw new ChannelError(`the plugin sent ${message.type} before its capture`);
              clearTimeout(timer);
              channel = new PluginChannel(socket, message.bundle);
              resolve(channel);
            } else channel.answer(message);
          }
        } catch (error) {
          socket.destroy();
          fail(error as Error);
        }
      });
    });
  }

  /** Takes the plugin's lock; answers the helper's newest capture (or the failure). */
  lock(): Promise<ToEntrypoint> {
    return this.request({ type: "lock" });
  }

  commit(bundle: CaptureBundle, base: number | null): Promise<ToEntrypoint> {
    return this.request({ type: "commit", bundle, base });
  }

  unlock(): Promise<ToEntrypoint> {
    return this.request({ type: "unlock" });
  }

  /** Removes the store's entry from the helper. */
  erase(): Promise<ToEntrypoint> {
    return this.request({ type: "erase" });
  }

  close(): void {
    this.socket.end();
  }

  private request(request: Request): Promise<ToEntrypoint> {
    if (this.closed) return Promise.reject(this.closed);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiters.set(id, { resolve, reject });
      this.socket.write(encodeMessage({ ...request, id } as ToPlugin));
    });
  }

  private answer(message: ToEntrypoint): void {
    if (message.type === "hello") throw new ChannelError("the plugin sent its capture twice");
    const waiter = this.waiters.get(message.id);
    if (!waiter) throw new ChannelError(`the plugin answered a request that was not made (${message.id})`);
    this.waiters.delete(message.id);
    waiter.resolve(message);
  }

  private fail(error: Error): void {
    this.closed ??= error;
    for (const waiter of this.waiters.values()) waiter.reject(error);
    this.waiters.clear();
  }
}
