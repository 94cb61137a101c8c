import net from "node:net";
import os from "node:os";

// Ctrl-C and `kill` must end the plugin with 130/143 (killed by a signal, docker itself
// would exit 255) and must not leave containers behind. A signal is passed on to what we
// are waiting for: a container is signalled through the engine (`docker run -t` does not
// forward signals itself), any other docker process directly; when they are gone we exit
// 128 + signal. A second signal stops waiting.
//
// Docker also tells a plugin to stop by closing DOCKER_CLI_PLUGIN_SOCKET (an abstract
// socket): `docker` receives the signal, not us. Node 22 (the single executable) can
// connect to it; under Node 20 we simply do not listen.

export type Stoppable = {
  /** Passes the signal on; resolves when the process is gone (or it gave up). */
  stop(signal: NodeJS.Signals): Promise<void>;
};

const active = new Set<Stoppable>();
let stopping: NodeJS.Signals | null = null;
let exitHook: (code: number) => void = (code) => process.exit(code);

export function track<T>(item: Stoppable, work: Promise<T>): Promise<T> {
  active.add(item);
  if (stopping) void item.stop(stopping);
  return work.finally(() => active.delete(item));
}

export function stoppedBy(): NodeJS.Signals | null {
  return stopping;
}

export function exitCodeFor(signal: NodeJS.Signals): number {
  return 128 + (os.constants.signals[signal] ?? 15);
}

async function onSignal(signal: NodeJS.Signals): Promise<void> {
  if (stopping) {
    // Second signal: do not wait any longer.
    exitHook(exitCodeFor(stopping));
    return;
  }
  stopping = signal;
  const items = [...active];
  await Promise.allSettled(items.map((item) => item.stop(signal)));
  exitHook(exitCodeFor(signal));
}

export function installSignalHandlers(options: { exit?: (code: number) => void } = {}): void {
  if (options.exit) exitHook = options.exit;
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => void onSignal(signal));
  listenToPluginSocket();
}

function listenToPluginSocket(): void {
  const name = process.env.DOCKER_CLI_PLUGIN_SOCKET;
  const major = Number(process.versions.node.split(".")[0]);
  if (!name || major < 22) return;
  try {
    const socket = net.connect({ path: name.startsWith("@") ? `\0${name.slice(1)}` : name });
    socket.on("error", () => undefined);
    // EOF: the docker CLI received SIGINT/SIGTERM and asks us to stop.
    socket.on("end", () => void onSignal("SIGTERM"));
    socket.unref();
  } catch {
    // Optional: without it we still handle our own signals.
  }
}
