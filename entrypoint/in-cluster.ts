import fs from "node:fs";
import path from "node:path";
import { UserError, errorMessage } from "../core/errors";
import type { KubeConnection } from "../core/kubernetes/api";
import type { RuntimeUser } from "./user";

// In a pod the entrypoint reaches the API server as the pod's service account: the address
// from KUBERNETES_SERVICE_HOST/PORT, the token and CA the kubelet mounts. The token reads the
// Secret that holds the refresh token, so the workload must not be able to read it: the
// example Job mounts it 0400 for root (examples/kubernetes/40-job.yaml), and a run refuses to
// start when the runtime user could read it, as it does for a reachable directory store.

export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

export function inClusterConnection(env: NodeJS.ProcessEnv = process.env): KubeConnection {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new UserError(
      "a k8s:// store needs the pod's service account, but KUBERNETES_SERVICE_HOST/PORT are not set: run in a Kubernetes pod (examples/kubernetes/40-job.yaml), or use a directory store",
    );
  }
  const tokenFile = path.join(SERVICE_ACCOUNT_DIR, "token");
  const readToken = () => {
    try {
      return fs.readFileSync(tokenFile, "utf8").trim();
    } catch (error) {
      throw new UserError(
        `no service-account token at ${tokenFile} (${errorMessage(error)}): give the pod a service account and mount its token (automountServiceAccountToken, or the projected volume in examples/kubernetes/40-job.yaml)`,
      );
    }
  };
  const subject = serviceAccountOf(readToken());
  let ca: Buffer | undefined;
  try {
    ca = fs.readFileSync(path.join(SERVICE_ACCOUNT_DIR, "ca.crt"));
  } catch {
    // The system's CAs then; a TLS error names the server if they do not do.
  }
  return { server: `https://${host.includes(":") ? `[${host}]` : host}:${port}`, ca, token: readToken, identity: subject };
}

/** "service account NS/NAME", from the token's subject claim (a JWT's payload is not secret; the signature is never printed). */
function serviceAccountOf(token: string): string {
  try {
    const payload = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")) as { sub?: string };
    const match = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(payload.sub ?? "");
    if (match) return `service account ${match[1]}/${match[2]}`;
  } catch {
    // Not a JWT: say less.
  }
  return "the pod's service account";
}

/** Refuses to run when the workload could read the service-account token (it reads the Secret with the refresh token). */
export function refuseReadableServiceAccountToken(user: RuntimeUser): void {
  const tokenFile = path.join(SERVICE_ACCOUNT_DIR, "token");
  let stat: fs.Stats;
  try {
    stat = fs.statSync(tokenFile);
  } catch {
    return; // inClusterConnection() says what is missing
  }
  const byOwner = stat.uid === user.uid && (stat.mode & 0o400) !== 0;
  const byGroup = stat.gid === user.gid && (stat.mode & 0o040) !== 0;
  const byOthers = (stat.mode & 0o004) !== 0;
  if (user.uid !== 0 && (byOwner || byGroup || byOthers)) {
    throw new UserError(
      `the service-account token ${tokenFile} is readable by the workload (uid ${user.uid}), which could then read the store's Secret: ` +
        `mount it with defaultMode 0400 (the projected volume in examples/kubernetes/40-job.yaml) and no fsGroup`,
    );
  }
}
