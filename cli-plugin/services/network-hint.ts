// What to say when a container could not reach Anthropic: the same advice from setup,
// refresh and test, naming the plugin's own flags.

export const NETWORK_HINT =
  "the container could not reach Anthropic: check --network, pass -e HTTPS_PROXY behind a proxy, and --ca-cert FILE behind one that intercepts TLS";

/** DNS, refused or reset connections, timeouts, proxies and TLS trust, as Node and curl word them. */
export function isConnectionFailure(text: string): boolean {
  return /EAI_AGAIN|ENOTFOUND|ECONNREFUSED|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|ENETUNREACH|getaddrinfo|no answer from|cannot reach|proxy|CERT_|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/i.test(text);
}
