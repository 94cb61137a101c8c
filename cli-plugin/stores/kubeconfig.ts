import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { load } from "js-yaml";
import { UserError, errorMessage } from "../../core/errors";
import { registerSecret } from "../../core/redact";
import type { KubeConnection } from "../../core/kubernetes/api";

// The plugin reaches a k8s:// store as the user does with kubectl: --kubeconfig FILE, else
// KUBECONFIG (a list of files, merged as kubectl merges them: the first file to name a thing
// wins), else ~/.kube/config; --context NAME, else the current context. Credentials: a
// token, a token file, a client certificate, or an exec plugin (EKS, GKE, AKS, OIDC helpers).

export type KubeconfigSelection = { kubeconfig?: string | undefined; context?: string | undefined };

type Named<T> = { name?: string } & T;
type Cluster = { server?: string; "certificate-authority"?: string; "certificate-authority-data"?: string; "insecure-skip-tls-verify"?: boolean };
type ExecConfig = { command?: string; args?: string[]; env?: { name: string; value: string }[] | null; apiVersion?: string };
type User = {
  token?: string;
  tokenFile?: string;
  "client-certificate"?: string;
  "client-certificate-data"?: string;
  "client-key"?: string;
  "client-key-data"?: string;
  exec?: ExecConfig;
};
type Kubeconfig = {
  "current-context"?: string;
  clusters?: Named<{ cluster?: Cluster }>[];
  users?: Named<{ user?: User }>[];
  contexts?: Named<{ context?: { cluster?: string; user?: string } }>[];
};
type Loaded = { file: string; config: Kubeconfig };

export function kubeconfigConnection(selection: KubeconfigSelection, env: NodeJS.ProcessEnv = process.env): KubeConnection {
  const files = kubeconfigFiles(selection, env);
  const loaded = files.map(readKubeconfig).filter((l): l is Loaded => l !== null);
  const where = files.length === 1 ? files[0]! : `KUBECONFIG (${files.join(":")})`;
  if (loaded.length === 0) {
    throw new UserError(`no kubeconfig: ${where} does not exist; pass --kubeconfig FILE or set KUBECONFIG (a k8s:// store is reached as kubectl reaches the cluster)`);
  }
  const contextName = selection.context ?? loaded.find((l) => l.config["current-context"])?.config["current-context"];
  if (!contextName) throw new UserError(`${where} sets no current context: pass --context NAME`);
  const context = find(loaded, "contexts", contextName)?.value.context;
  if (!context) throw new UserError(`${where} has no context "${contextName}": pass --context with one of ${names(loaded, "contexts")}`);
  const cluster = find(loaded, "clusters", context.cluster ?? "");
  const user = find(loaded, "users", context.user ?? "");
  if (!cluster?.value.cluster?.server) throw new UserError(`context "${contextName}" in ${where} names no cluster with a server: fix the kubeconfig`);
  const c = cluster.value.cluster;
  const u = user?.value.user ?? {};
  const identity = `kubeconfig ${where}, context ${contextName}`;
  const connection: KubeConnection = {
    server: c.server!,
    ca: bytes(c["certificate-authority-data"], c["certificate-authority"], cluster.file),
    insecureSkipTlsVerify: c["insecure-skip-tls-verify"] === true,
    cert: bytes(u["client-certificate-data"], u["client-certificate"], user?.file ?? ""),
    key: bytes(u["client-key-data"], u["client-key"], user?.file ?? ""),
    identity,
  };
  if (u.token) {
    registerSecret(u.token);
    connection.token = () => u.token!;
  } else if (u.tokenFile) {
    const file = path.resolve(path.dirname(user!.file), u.tokenFile);
    connection.token = () => secretText(fs.readFileSync(file, "utf8"));
  } else if (u.exec?.command) {
    const credential = runExecPlugin(u.exec, identity, c.server!);
    if (credential.token) connection.token = () => credential.token!;
    if (credential.cert) Object.assign(connection, { cert: credential.cert, key: credential.key });
  }
  return connection;
}

function kubeconfigFiles(selection: KubeconfigSelection, env: NodeJS.ProcessEnv): string[] {
  if (selection.kubeconfig) return [path.resolve(selection.kubeconfig)];
  const list = (env.KUBECONFIG ?? "").split(path.delimiter).filter(Boolean);
  return list.length ? list.map((f) => path.resolve(f)) : [path.join(os.homedir(), ".kube", "config")];
}

function readKubeconfig(file: string): Loaded | null {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new UserError(`cannot read the kubeconfig ${file}: ${errorMessage(error)}`);
  }
  try {
    const config = load(text);
    if (config !== null && config !== undefined && typeof config !== "object") throw new Error("not a mapping");
    return { file, config: (config ?? {}) as Kubeconfig };
  } catch (error) {
    throw new UserError(`the kubeconfig ${file} is not valid YAML (${errorMessage(error).split("\n")[0]}): fix it, or pass another with --kubeconfig`);
  }
}

function find<K extends "clusters" | "users" | "contexts">(loaded: Loaded[], kind: K, name: string) {
  for (const { file, config } of loaded) {
    const value = (config[kind] as Named<object>[] | undefined)?.find((entry) => entry.name === name);
    if (value) return { file, value: value as NonNullable<Kubeconfig[K]>[number] };
  }
  return undefined;
}

function names(loaded: Loaded[], kind: "contexts"): string {
  const all = loaded.flatMap((l) => (l.config[kind] ?? []).map((e) => e.name)).filter(Boolean);
  return all.length ? all.join(", ") : "(none defined)";
}

function bytes(data: string | undefined, file: string | undefined, base: string): Buffer | undefined {
  if (data) return Buffer.from(data, "base64");
  if (!file) return undefined;
  const resolved = path.resolve(path.dirname(base), file);
  try {
    return fs.readFileSync(resolved);
  } catch (error) {
    throw new UserError(`cannot read ${resolved}, named in the kubeconfig: ${errorMessage(error)}`);
  }
}

function secretText(text: string): string {
  const value = text.trim();
  registerSecret(value);
  return value;
}

/** Runs a client-go credential plugin once (kubectl caches its answer similarly for the process). */
function runExecPlugin(exec: ExecConfig, identity: string, server: string): { token?: string; cert?: Buffer; key?: Buffer } {
  const apiVersion = exec.apiVersion ?? "client.authentication.k8s.io/v1beta1";
  const info = { apiVersion, kind: "ExecCredential", spec: { interactive: false, cluster: { server } } };
  const result = spawnSync(exec.command!, exec.args ?? [], {
    env: { ...process.env, ...Object.fromEntries((exec.env ?? []).map((e) => [e.name, e.value])), KUBERNETES_EXEC_INFO: JSON.stringify(info) },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 60_000,
  });
  if (result.error || result.status !== 0) {
    const why = result.error ? errorMessage(result.error) : `exit ${result.status}: ${(result.stderr ?? "").trim().split("\n").pop() ?? ""}`;
    throw new UserError(`the credential plugin "${exec.command}" of ${identity} failed (${why}): check that it is installed and logged in (kubectl get ns should work)`);
  }
  try {
    const status = (JSON.parse(result.stdout) as { status?: { token?: string; clientCertificateData?: string; clientKeyData?: string } }).status ?? {};
    if (status.token) registerSecret(status.token);
    return {
      token: status.token,
      cert: status.clientCertificateData ? Buffer.from(status.clientCertificateData) : undefined,
      key: status.clientKeyData ? Buffer.from(status.clientKeyData) : undefined,
    };
  } catch {
    throw new UserError(`the credential plugin "${exec.command}" of ${identity} printed no ExecCredential: check its version against your cluster's`);
  }
}
