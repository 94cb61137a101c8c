import { errorMessage } from "../../core/errors";
import { formatDuration } from "../../core/duration";
import { forbidden, KubeUnreachableError, roleRule, type KubeAction } from "../../core/kubernetes/api";
import { leaseRef } from "../../core/kubernetes/address";
import { ForeignSecretError, type KubernetesStore } from "../../core/kubernetes/store";
import type { LeaseState } from "../../core/kubernetes/lease";
import { openKubernetesStore, type KubernetesRef } from "../stores/kubernetes";
import { suggest } from "../stores/analyze";
import type { Check } from "./doctor";

// doctor for a k8s:// store: what status, refresh and setup need from here, in the order a
// failure hides the next: the kubeconfig and its context, the API server answering and
// accepting the credentials, RBAC on the Secret and its refresh Lease (asked of the API server
// with SelfSubjectAccessReviews: a missing verb is named with the Role rule to add), the Secret
// (there, ours, valid, and its tokens as status sees them) and who holds the Lease.

/** `tokenChecks`: the checks of the store's content and tokens, as for every store (doctor.ts). */
export async function kubernetesChecks(ref: KubernetesRef, tokenChecks: () => Promise<Check[]>): Promise<Check[]> {
  let store: KubernetesStore;
  try {
    store = openKubernetesStore(ref);
  } catch (error) {
    return [{ name: "kubeconfig", level: "fail", message: errorMessage(error), fix: "pass --kubeconfig FILE and --context NAME of a cluster that kubectl reaches (kubectl --kubeconfig FILE --context NAME get ns)" }];
  }
  const identity = store.api.connection.identity;
  const checks: Check[] = [{ name: "kubeconfig", level: "ok", message: `${identity}: API server ${store.api.server}` }];

  const server = await serverCheck(store);
  checks.push(server);
  if (server.level === "fail") return checks;

  const secret = { resource: "secrets", namespace: store.ref.namespace, name: store.ref.name };
  const lease = { resource: "leases.coordination.k8s.io", ...leaseRef(store.ref) };
  // The audit trail (Kubernetes Events about the Secret): without it everything works, unrecorded.
  const events: KubeAction = { verb: "create", resource: "events", namespace: store.ref.namespace };
  const may = async (action: KubeAction) => ({ action, allowed: await store.api.mayI(action) });
  const [eventsAnswer, ...answers] = await Promise.all([may(events), may({ verb: "get", ...secret }), may({ verb: "update", ...secret }), may({ verb: "get", ...lease }), may({ verb: "update", ...lease })]);
  checks.push(...rbacChecks(answers, identity));
  if (eventsAnswer!.allowed === false) {
    checks.push({ name: "rbac", level: "warn", message: `${forbidden(events, identity)}: what this machine does to the store is not recorded`, fix: `add to its Role the rule ${roleRule(events)}` });
  }
  const allowed = (verb: string, what: typeof secret) => answers.find((a) => a.action.verb === verb && a.action.resource === what.resource)?.allowed !== false;

  if (allowed("get", secret)) {
    const found = await secretCheck(ref, store, identity);
    checks.push(...found.checks);
    if (found.ours) checks.push(...(await tokenChecks()));
  }
  if (allowed("get", lease)) checks.push(...(await leaseChecks(store, identity)));
  return checks;
}

/** The API server answers and takes the credentials (GET /version, open to every authenticated user). */
async function serverCheck(store: KubernetesStore): Promise<Check> {
  let response;
  try {
    response = await store.api.request<{ gitVersion?: string }>("GET", "/version");
  } catch (error) {
    const fix = error instanceof KubeUnreachableError ? "start the cluster, or fix the server address of the context (kubectl cluster-info)" : undefined;
    return { name: "api-server", level: "fail", message: errorMessage(error), ...(fix ? { fix } : {}) };
  }
  if (response.status === 401) {
    return {
      name: "api-server",
      level: "fail",
      message: `the API server ${store.api.server} does not accept the credentials of ${store.api.connection.identity} (401 Unauthorized)`,
      fix: "refresh them (log in to the cluster again; kubectl get ns should work)",
    };
  }
  if (response.status !== 200) return { name: "api-server", level: "warn", message: `the API server ${store.api.server} answered HTTP ${response.status} to GET /version` };
  return { name: "api-server", level: "ok", message: `the API server ${store.api.server} answers (Kubernetes ${response.body.gitVersion ?? "version unknown"})` };
}

function rbacChecks(answers: { action: KubeAction; allowed: boolean | null }[], identity: string): Check[] {
  const checks: Check[] = [];
  const granted = answers.filter((a) => a.allowed === true).map((a) => `${a.action.verb} ${a.action.resource.split(".")[0]}/${a.action.name}`);
  if (granted.length > 0) checks.push({ name: "rbac", level: "ok", message: `${identity} may ${granted.join(", ")}` });
  for (const { action, allowed } of answers) {
    if (allowed === false) checks.push({ name: "rbac", level: "fail", message: forbidden(action, identity), fix: `add to its Role the rule ${roleRule(action)}` });
    if (allowed === null) checks.push({ name: "rbac", level: "warn", message: `the API server did not say whether ${identity} may ${action.verb} ${action.resource} "${action.name}" (SelfSubjectAccessReview)` });
  }
  return checks;
}

/** The Secret: there, and ours (a Secret of that name without our label is never touched). */
async function secretCheck(ref: KubernetesRef, store: KubernetesStore, identity: string): Promise<{ checks: Check[]; ours: boolean }> {
  const where = `the Secret ${store.ref.namespace}/${store.ref.name}`;
  let secret;
  try {
    secret = await store.readSecret();
  } catch (error) {
    const fix = error instanceof ForeignSecretError ? `use another name: ${suggest("setup", { ...ref, address: `k8s://${store.ref.namespace}/OTHER-NAME` })}` : undefined;
    return { checks: [{ name: "secret", level: "fail", message: errorMessage(error), ...(fix ? { fix } : {}) }], ours: false };
  }
  if (secret) return { checks: [{ name: "secret", level: "ok", message: `${where} is a claudeauth store (labelled app.kubernetes.io/managed-by=claudeauth)` }], ours: true };
  const create: KubeAction = { verb: "create", resource: "secrets", namespace: store.ref.namespace };
  const checks: Check[] = [{ name: "secret", level: "fail", message: `${where} does not exist: this store has not been set up`, fix: suggest("setup", ref) }];
  if ((await store.api.mayI(create)) === false) checks.push({ name: "rbac", level: "fail", message: `${forbidden(create, identity)}: setup cannot create the Secret`, fix: `add to its Role the rule ${roleRule(create)}` });
  return { checks, ours: false };
}

/** Who holds the refresh Lease, and until when by the holder's last renewal. */
async function leaseChecks(store: KubernetesStore, identity: string): Promise<Check[]> {
  const { namespace, name } = leaseRef(store.ref);
  const where = `the refresh Lease ${namespace}/${name}`;
  let state: LeaseState | null;
  try {
    state = await store.readLease();
  } catch (error) {
    return [{ name: "lease", level: "fail", message: errorMessage(error) }];
  }
  if (!state) {
    const create: KubeAction = { verb: "create", resource: "leases.coordination.k8s.io", namespace };
    if ((await store.api.mayI(create)) === false) {
      return [
        {
          name: "lease",
          level: "fail",
          message: `${where} does not exist and ${forbidden(create, identity)}: a refresh cannot take it`,
          fix: `kubectl apply -f examples/kubernetes/30-lease.yaml (with your store's names), or add to the Role the rule ${roleRule(create)}`,
        },
      ];
    }
    return [{ name: "lease", level: "ok", message: `${where} does not exist yet: the first refresh creates it` }];
  }
  if (!state.holder) return [{ name: "lease", level: "ok", message: `${where} is free: no refresh in progress` }];
  const renewed = state.renewTime ? Date.now() - Date.parse(state.renewTime) : NaN;
  const duration = (state.durationSeconds ?? 0) * 1000;
  if (!Number.isFinite(renewed)) return [{ name: "lease", level: "ok", message: `${where} is held by ${state.holder} (no renewal time)` }];
  const ago = renewed >= 0 ? `${formatDuration(renewed)} ago` : "just now";
  if (renewed <= duration) {
    return [{ name: "lease", level: "ok", message: `${where} is held by ${state.holder}, renewed ${ago} for ${formatDuration(duration)}: a refresh is in progress` }];
  }
  return [
    {
      name: "lease",
      level: "ok",
      message: `${where} is held by ${state.holder}, which stopped renewing it ${ago} (it lasts ${formatDuration(duration)}): the next refresh takes it over`,
    },
  ];
}
