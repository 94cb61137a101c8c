// JSON requests that honour HTTPS_PROXY / NO_PROXY the way the Claude CLI does, so the
// entrypoint reaches the token endpoint wherever the CLI can. The CA bundle comes from
// NODE_EXTRA_CA_CERTS, which Node reads at start.
//
// http, https and tls are loaded on the first request (process.getBuiltinModule: the single
// executable has no dynamic import()): loading them costs ~10 ms, and most runs start with a
// fresh token and send nothing.

/** `retryAfter`: the Retry-After header as sent (seconds or an HTTP date), for 429 and 5xx answers. */
export type JsonResponse = { status: number; body: unknown; retryAfter: string | null };
const TIMEOUT_MS = 20_000;

export function postJson(url: string, payload: unknown, env: NodeJS.ProcessEnv = process.env): Promise<JsonResponse> {
  return requestJson("POST", url, {}, JSON.stringify(payload), env);
}

export function getJson(url: string, headers: Record<string, string>, env: NodeJS.ProcessEnv = process.env): Promise<JsonResponse> {
  return requestJson("GET", url, headers, "", env);
}

async function requestJson(method: string, url: string, headers: Record<string, string>, body: string, env: NodeJS.ProcessEnv): Promise<JsonResponse> {
  const target = new URL(url);
  const proxy = proxyFor(target, env);
  const socket = proxy ? await connectThrough(proxy, target) : undefined;
  const client = target.protocol === "https:" ? process.getBuiltinModule("node:https") : process.getBuiltinModule("node:http");
  const tls = process.getBuiltinModule("node:tls");
  return new Promise((resolve, reject) => {
    const request = client.request(
      target,
      {
        method,
        headers: { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(body), "user-agent": "claudeauth" },
        timeout: TIMEOUT_MS,
        ...(socket ? { createConnection: () => tls.connect({ socket, servername: target.hostname }) } : {}),
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // Not JSON: keep the text for the status line.
          }
          const retryAfter = response.headers["retry-after"];
          resolve({ status: response.statusCode ?? 0, body: parsed, retryAfter: typeof retryAfter === "string" ? retryAfter : null });
        });
      },
    );
    request.on("timeout", () => request.destroy(new Error(`no answer from ${target.host} within ${TIMEOUT_MS / 1000}s`)));
    request.on("error", reject);
    request.end(body);
  });
}

function proxyFor(target: URL, env: NodeJS.ProcessEnv): URL | null {
  const value = target.protocol === "https:" ? env.HTTPS_PROXY || env.https_proxy : env.HTTP_PROXY || env.http_proxy;
  if (!value) return null;
  const noProxy = (env.NO_PROXY || env.no_proxy || "").split(",").map((s) => s.trim()).filter(Boolean);
  const bypass = noProxy.some((rule) => rule === "*" || target.hostname === rule.replace(/^\./, "") || target.hostname.endsWith(rule.startsWith(".") ? rule : `.${rule}`));
  return bypass ? null : new URL(value);
}

function connectThrough(proxy: URL, target: URL): Promise<import("node:net").Socket> {
  const http = process.getBuiltinModule("node:http");
  return new Promise((resolve, reject) => {
    const authority = `${target.hostname}:${target.port || 443}`;
    const request = http.request({ host: proxy.hostname, port: proxy.port || 80, method: "CONNECT", path: authority, timeout: TIMEOUT_MS });
    request.on("connect", (response, socket) => {
      if (response.statusCode === 200) resolve(socket);
      else reject(new Error(`proxy ${proxy.host} refused CONNECT ${authority}: HTTP ${response.statusCode}`));
    });
    request.on("timeout", () => request.destroy(new Error(`proxy ${proxy.host} did not answer within ${TIMEOUT_MS / 1000}s`)));
    request.on("error", reject);
    request.end();
  });
}
