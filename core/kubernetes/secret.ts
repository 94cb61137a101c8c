import { KubeApi, apiError, type KubeResponse } from "./api";

// The Secret that holds a k8s:// store: created once, then replaced only with the
// resourceVersion we read (compare-and-swap: the API server answers 409 if anyone wrote since).

export type KubeRef = { namespace: string; name: string };

/** Marks a Secret as a claudeauth store: a Secret without it is never written to. */
export const MANAGED_BY = { "app.kubernetes.io/managed-by": "claudeauth" } as const;

export type SecretObject = {
  resourceVersion: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Decoded data: file name → bytes. */
  data: Record<string, Buffer>;
  type: string;
};

/** The Secret changed since it was read (409 on replace), or appeared since we saw none (409 on create). */
export class SecretConflictError extends Error {}

type RawSecret = {
  type?: string;
  metadata?: { resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  data?: Record<string, string>;
};

export class SecretClient {
  constructor(
    readonly api: KubeApi,
    readonly ref: KubeRef,
  ) {}

  private get collection(): string {
    return `/api/v1/namespaces/${encodeURIComponent(this.ref.namespace)}/secrets`;
  }

  private get path(): string {
    return `${this.collection}/${encodeURIComponent(this.ref.name)}`;
  }

  async get(): Promise<SecretObject | null> {
    const response = await this.api.request<RawSecret>("GET", this.path);
    if (response.status === 404 && (response.body as { details?: { kind?: string } }).details?.kind === "secrets") return null;
    if (response.status !== 200) throw this.error(response, "get");
    return decode(response.body);
  }

  async create(data: Record<string, Buffer>, annotations: Record<string, string>): Promise<SecretObject> {
    const response = await this.api.request<RawSecret>("POST", this.collection, this.manifest(data, annotations));
    if (response.status === 409) throw new SecretConflictError(`Secret ${this.ref.namespace}/${this.ref.name} was created by someone else meanwhile`);
    if (response.status !== 201) throw this.error(response, "create");
    return decode(response.body);
  }

  async replace(resourceVersion: string, data: Record<string, Buffer>, annotations: Record<string, string>, labels: Record<string, string>): Promise<SecretObject> {
    const manifest = this.manifest(data, annotations, labels);
    manifest.metadata.resourceVersion = resourceVersion;
    const response = await this.api.request<RawSecret>("PUT", this.path, manifest);
    if (response.status === 409) throw new SecretConflictError(`Secret ${this.ref.namespace}/${this.ref.name} changed since it was read`);
    if (response.status !== 200) throw this.error(response, "update");
    return decode(response.body);
  }

  /**
   * Fails, as a 403 would, unless we may update the Secret: asked of the API server
   * (SelfSubjectAccessReview, open to every authenticated user) before a refresh token is
   * spent, so a Role without "update" never costs a rotated token.
   */
  async assertMayUpdate(): Promise<void> {
    // A cluster that does not answer the question leaves it to the update itself.
    if ((await this.api.mayI({ verb: "update", resource: "secrets", ...this.ref })) === false) throw this.error({ status: 403, body: {} }, "update");
  }

  async delete(resourceVersion: string): Promise<void> {
    const response = await this.api.request("DELETE", this.path, { apiVersion: "v1", kind: "DeleteOptions", preconditions: { resourceVersion } });
    if (response.status === 409) throw new SecretConflictError(`Secret ${this.ref.namespace}/${this.ref.name} changed since it was read`);
    if (response.status !== 200 && response.status !== 404) throw this.error(response, "delete");
  }

  private manifest(data: Record<string, Buffer>, annotations: Record<string, string>, labels: Record<string, string> = {}) {
    return {
      apiVersion: "v1",
      kind: "Secret",
      type: "Opaque",
      metadata: { name: this.ref.name, namespace: this.ref.namespace, labels: { ...labels, ...MANAGED_BY }, annotations, resourceVersion: undefined as string | undefined },
      data: Object.fromEntries(Object.entries(data).map(([key, value]) => [key, value.toString("base64")])),
    };
  }

  private error(response: KubeResponse<unknown>, verb: string): Error {
    return apiError(response, { verb, resource: "secrets", ...this.ref }, this.api.connection.identity);
  }
}

function decode(raw: RawSecret): SecretObject {
  return {
    resourceVersion: raw.metadata?.resourceVersion ?? "",
    labels: raw.metadata?.labels ?? {},
    annotations: raw.metadata?.annotations ?? {},
    data: Object.fromEntries(Object.entries(raw.data ?? {}).map(([key, value]) => [key, Buffer.from(value, "base64")])),
    type: raw.type ?? "",
  };
}

export function isManaged(secret: SecretObject): boolean {
  return Object.entries(MANAGED_BY).every(([key, value]) => secret.labels[key] === value);
}
