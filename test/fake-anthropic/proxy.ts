// An HTTP proxy on loopback that answers CONNECT by terminating TLS itself with a leaf for the
// requested host, then serves the tunnelled requests from `route`. It never dials out: a client
// that trusts our CA sees "api.anthropic.com" and friends, and nothing leaves the machine.
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { CertAuthority } from './ca';
import type { FakeReply, FakeRequest } from './routes';

export interface ProxyOptions {
  ca: CertAuthority;
  port?: number;
  /** Answer one request (now, or later: a test may hold it); the proxy does the socket work and the logging. */
  handle(req: FakeRequest): FakeReply | Promise<FakeReply>;
  /** Called once per answered request, after the reply is chosen. */
  onRequest?(req: FakeRequest, status: number): void;
  /** Body limit; the CLI's /v1/messages bodies carry the whole system prompt (hundreds of kB). */
  maxBodyBytes?: number;
}

export interface Proxy {
  port: number;
  close(): Promise<void>;
}

function splitHostPort(authority: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(authority) ?? /^([^:]+)(?::(\d+))?$/.exec(authority);
  if (!m) return { host: authority, port: 443 };
  return { host: m[1]!.toLowerCase(), port: m[2] ? Number(m[2]) : 443 };
}

export async function startProxy(opts: ProxyOptions): Promise<Proxy> {
  const maxBody = opts.maxBodyBytes ?? 64 * 1024 * 1024;
  const sockets = new Set<Duplex>();
  const track = (s: Duplex) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  };

  // Serves both the tunnelled (TLS) requests and the plain ones; `tunnelHost` tells them apart.
  const tunnelHost = new WeakMap<Duplex, string>();

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBody) tooBig = true;
      else chunks.push(c);
    });
    req.on('end', async () => {
      const connectHost = tunnelHost.get(req.socket);
      const url = new URL(req.url ?? '/', 'http://placeholder');
      const hostHeader = req.headers.host ? splitHostPort(req.headers.host).host : undefined;
      const fr: FakeRequest = {
        method: req.method ?? 'GET',
        host: connectHost ?? (/^https?:\/\//i.test(req.url ?? '') ? url.hostname : hostHeader ?? ''),
        path: url.pathname,
        search: url.search,
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      let reply: FakeReply;
      if (connectHost === undefined) {
        // Plain-HTTP proxying (GET http://host/...) is never served: tokens must not travel in clear.
        reply = {
          status: 404,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: 'plain HTTP is not served; use CONNECT' } }),
        };
      } else if (tooBig) {
        reply = { status: 413, headers: { 'content-type': 'application/json' }, body: '{"type":"error","error":{"type":"request_too_large","message":"too large"}}' };
      } else {
        try {
          reply = await opts.handle(fr);
        } catch (err) {
          reply = { status: 500, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'error', error: { type: 'api_error', message: String(err) } }) };
        }
      }
      opts.onRequest?.(fr, reply.status);
      if (res.destroyed) return; // the client went away while the reply was held
      res.writeHead(reply.status, { ...reply.headers, 'content-length': String(Buffer.byteLength(reply.body)) });
      res.end(reply.body);
    });
  };

  // One plain http.Server parses HTTP on the decrypted TLS sockets too (fed via 'connection').
  const server = http.createServer({ keepAlive: true }, onRequest);
  server.on('connection', track);

  server.on('connect', (req: http.IncomingMessage, clientSocket: Duplex, head: Buffer) => {
    const { host } = splitHostPort(req.url ?? '');
    clientSocket.on('error', () => clientSocket.destroy());
    opts.ca.leaf(host).then(
      (defaultLeaf) => {
        clientSocket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (head.length) clientSocket.unshift(head);
        const tlsSocket = new tls.TLSSocket(clientSocket as Socket, {
          isServer: true,
          key: defaultLeaf.key,
          cert: defaultLeaf.cert,
          // Only HTTP/1.1: we feed an http.Server, not an http2 one.
          ALPNProtocols: ['http/1.1'],
          // SNI may name another host than CONNECT did; answer with a leaf for what the client checks.
          SNICallback: (servername, cb) => {
            if (servername.toLowerCase() === host) return cb(null, tls.createSecureContext(defaultLeaf));
            opts.ca.leaf(servername).then(
              (l) => cb(null, tls.createSecureContext(l)),
              (e: Error) => cb(e, undefined),
            );
          },
        });
        tunnelHost.set(tlsSocket, host);
        tlsSocket.on('error', () => tlsSocket.destroy());
        track(tlsSocket);
        server.emit('connection', tlsSocket);
      },
      () => {
        clientSocket.end('HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n');
      },
    );
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // Loopback only: with `docker run --network host` containers reach it, nobody else does.
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}
