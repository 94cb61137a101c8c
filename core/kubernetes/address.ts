import { UserError } from "../errors";
import type { KubeRef } from "./secret";

// A Kubernetes store is addressed k8s://NAMESPACE/NAME: the Secret NAME in NAMESPACE (and
// its refresh Lease NAME-refresh).

const SCHEME = "k8s://";
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** Room for the Lease's "-refresh" within the 253 characters of a name. */
const MAX_NAME = 253 - "-refresh".length;

export function isKubernetesAddress(spec: string): boolean {
  return spec.startsWith(SCHEME);
}

export function parseKubernetesAddress(spec: string): KubeRef {
  const match = /^k8s:\/\/([^/]*)\/([^/]*)$/.exec(spec);
  const example = `(e.g. k8s://claude/claude-login)`;
  if (!match) throw new UserError(`"${spec}" is not a Kubernetes store address: use k8s://NAMESPACE/NAME ${example}`, 125);
  const [, namespace, name] = match as unknown as [string, string, string];
  if (namespace.length > 63 || !DNS_LABEL.test(namespace)) {
    throw new UserError(`"${namespace}" in ${spec} is not a namespace name: lower-case letters, digits and "-", at most 63 ${example}`, 125);
  }
  if (name.length > MAX_NAME || !DNS_SUBDOMAIN.test(name)) {
    throw new UserError(`"${name}" in ${spec} is not a Secret name: lower-case letters, digits, "-" and ".", at most ${MAX_NAME} ${example}`, 125);
  }
  return { namespace, name };
}

export function formatKubernetesAddress(ref: KubeRef): string {
  return `${SCHEME}${ref.namespace}/${ref.name}`;
}

export function leaseRef(ref: KubeRef): KubeRef {
  return { namespace: ref.namespace, name: `${ref.name}-refresh` };
}
