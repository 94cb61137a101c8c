import net from "node:net";

// A slow network on demand: a TCP relay in front of the fake endpoint's proxy that holds
// every connection until the test opens it (a token request "in flight" for as long as a
// test needs), and can run a step the moment a connection arrives (e.g. fill a disk after
// the entrypoint prepared everything and before the endpoint answers).
export type Relay = {
  /** HTTPS_PROXY value for the entrypoint. */
  url: string;
  connections(): number;
  open(): void;
  close(): Promise<void>;
};

export async function startRelay(proxyUrl: string, onConnect: () => void = () => undefined, gated = true): Promise<Relay> {
  const target = new URL(proxyUrl);
  let open!: () => void;
  const opened = gated ? new Promise<void>((resolve) => (open = resolve)) : Promise.resolve();
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    connections++;
    sockets.add(client);
    client.pause();
    onConnect();
    void opened.then(() => {
      const upstream = net.connect(Number(target.port), target.hostname);
      sockets.add(upstream);
      const end = () => (client.destroy(), upstream.destroy());
      client.on("error", end).on("close", end);
      upstream.on("error", end).on("close", end);
      client.pipe(upstream).pipe(client);
      client.resume();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => connections,
    open: () => open?.(),
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
