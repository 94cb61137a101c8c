import { UserError, errorMessage } from "../errors";

// A minimal Kubernetes API client: JSON over HTTPS to the API server, for the two kinds the
// k8s:// store uses (a Secret and a Lease). @kubernetes/client-node was measured and left out
// (README, "Beyond one host"): it added 2 MB to each single executable and ~0.85 s to every
// start of the entrypoint, which runs once per container.

/** Where the API server is and who we are to it: from a kubeconfig (plugin) or the pod's service account (entrypoint). */
export type KubeConnection = {
  server: string;
  /** PEM bundle to trust; the system's CAs when absent. */
  ca?: Buffer;
  insecureSkipTlsVerify?: boolean;
  /** Read per request: a projected service-account token is rotated by the kubelet. */
  token?: () => string;
  cert?: Buffer;
  key?: Buffer;
  /** Who we are, for messages: "kubeconfig ~/.kube/config, context prod" or "the pod's service account". */
  identity: string;
};

export type KubeResponse<T> = { status: number; body: T };

/** A status the caller did not expect: its code, the API's reason and message (never a request body). */
export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** The API server did not answer (down, unreachable, timed out): a run may go on with a valid access token. */
export class KubeUnreachableError extends UserError {}

const TIMEOUT_MS = 10_000;

export class KubeApi {
  constructor(readonly connection: KubeConnection) {}

  get server(): string {
    return this.connection.server;
  }

  /** One request; resolves with any HTTP status (callers decide which are expected), rejects only when there is no answer. */
  request<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<KubeResponse<T>> {
    const { connection } = this;
    const url = new URL(path, connection.server);
    const payload = body === undefined ? "" : JSON.stringify(body);
    const headers: Record<string, string | number> = { accept: "application/json", "user-agent": "claudeauth" };
    if (payload) Object.assign(headers, { "content-type": "application/json", "content-length": Buffer.byteLength(payload) });
    const token = connection.token?.();
    if (token) headers.authorization = `Bearer ${token}`;
    // Loaded on first use: most entrypoint starts make no request, and https/tls cost ms to load.
    const https = process.getBuiltinModule("node:https");
    return new Promise((resolve, reject) => {
      const request = https.request(
        url,
        {
          method,
          headers,
          timeout: TIMEOUT_MS,
          ca: connection.ca,
          cert: connection.cert,
          key: connection.key,
          rejectUnauthorized: !connection.insecureSkipTlsVerify,
          agent: false,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("end", () => {
            let parsed: unknown = {};
            try {
              parsed = JSON.parse(Buffer.concat(chunks).toString("utf8"));
            } catch {
              // Not JSON (a proxy's error page): the status says enough.
            }
            resolve({ status: response.statusCode ?? 0, body: parsed as T });
          });
          response.on("error", reject);
        },
      );
      request.on("timeout", () => request.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000}s`)));
      request.on("error", (error) =>
        reject(new KubeUnreachableError(`cannot reach the Kubernetes API server ${url.host} (${errorMessage(error)}); check that it is up and reachable from here`)),
      );
      request.end(payload);
    });
  }

  /**
   * Whether we may `verb` the `resource` (as "secrets" or "leases.coordination.k8s.io") named
   * `name` in `namespace`: a SelfSubjectAccessReview, which every authenticated user may ask.
   * null when the cluster does not answer the question (then the request itself tells).
   */
  async mayI(what: KubeAction): Promise<boolean | null> {
    const [group, resource] = splitResource(what.resource);
    const review = await this.request<{ status?: { allowed?: boolean } }>("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {
      apiVersion: "authorization.k8s.io/v1",
      kind: "SelfSubjectAccessReview",
      spec: { resourceAttributes: { namespace: what.namespace, verb: what.verb, group, resource, ...(what.name ? { name: what.name } : {}) } },
    });
    return review.status === 201 ? review.body.status?.allowed === true : null;
  }
}

/** A request on one object: "update" "secrets" NS/NAME. A resource outside the core group is "PLURAL.GROUP". No name: a create, which RBAC cannot limit by name. */
export type KubeAction = { verb: string; resource: string; namespace: string; name?: string };

function splitResource(resource: string): [group: string, plural: string] {
  const dot = resource.indexOf(".");
  return dot === -1 ? ["", resource] : [resource.slice(dot + 1), resource.slice(0, dot)];
}

/** The Role rule that grants `what`, as YAML flow a person pastes into the Role. */
export function roleRule(what: KubeAction): string {
  const [group, plural] = splitResource(what.resource);
  // RBAC cannot limit create (or list) by name: the name is not known when it is authorized.
  const names = what.name && what.verb !== "create" && what.verb !== "list" ? `, resourceNames: ["${what.name}"]` : "";
  return `{apiGroups: ["${group}"], resources: ["${plural}"]${names}, verbs: ["${what.verb}"]}`;
}

/** "may not update secrets "NAME" in namespace NS (403 Forbidden)", after who. */
export function forbidden(what: KubeAction, identity: string): string {
  return `${identity} may not ${what.verb} ${what.resource}${what.name ? ` "${what.name}"` : ""} in namespace ${what.namespace} (403 Forbidden)`;
}

type Status = { reason?: string; message?: string };

/** The error for an unexpected status, one line with the fix where we know it. */
export function apiError(response: KubeResponse<unknown>, what: KubeAction & { name: string }, identity: string): Error {
  const status = (response.body ?? {}) as Status;
  const reason = status.reason ?? `HTTP ${response.status}`;
  if (response.status === 401) {
    return new UserError(`the Kubernetes API server does not accept the credentials of ${identity} (401 Unauthorized): refresh them (kubectl get ns -n ${what.namespace} should work)`);
  }
  if (response.status === 403) return new UserError(`${forbidden(what, identity)}: add to its Role the rule ${roleRule(what)}`);
  return new KubeApiError(response.status, reason, `the Kubernetes API server refused to ${what.verb} ${what.resource} ${what.namespace}/${what.name}: ${reason}${status.message ? ` (${status.message})` : ""}`);
}
