import { eventLine, parseEvents, type AuditEvent, type EventLog, type NewEvent } from "../events";
import { redact } from "../redact";
import { KubeApi, apiError } from "./api";
import { MANAGED_BY, type KubeRef } from "./secret";

// A k8s:// store's audit trail is Kubernetes Events about its Secret: `kubectl get events`
// and `kubectl describe secret` show them next to everything else in the cluster, and
// the API server keeps them for its --event-ttl (one hour by default), as it keeps every
// Event. The Secret itself holds no log: every line would grow each commit's
// compare-and-swap. Each Event carries the same redacted line a directory store's
// events.log holds, in an annotation; its reason and message are for people.

const EVENT_ANNOTATION = "claudeauth/event";
/** What is wrong or was refused: a monitor's `type=Warning`. */
const WARNING_KINDS = new Set<AuditEvent["kind"]>(["refused", "lock-break"]);

export class KubeEventLog {
  constructor(
    readonly api: KubeApi,
    readonly ref: KubeRef,
  ) {}

  private get collection(): string {
    return `/api/v1/namespaces/${encodeURIComponent(this.ref.namespace)}/events`;
  }

  async append(event: NewEvent, now = new Date()): Promise<void> {
    const line = eventLine(event, now);
    const logged = JSON.parse(line) as AuditEvent;
    const response = await this.api.request("POST", this.collection, {
      apiVersion: "v1",
      kind: "Event",
      metadata: { generateName: `${this.ref.name}.`, labels: { ...MANAGED_BY }, annotations: { [EVENT_ANNOTATION]: line } },
      involvedObject: { apiVersion: "v1", kind: "Secret", namespace: this.ref.namespace, name: this.ref.name },
      reason: reasonOf(logged.kind),
      message: redact(summary(logged)),
      type: isWarning(logged) ? "Warning" : "Normal",
      source: { component: "claudeauth" },
      firstTimestamp: logged.time,
      lastTimestamp: logged.time,
      count: 1,
    });
    if (response.status !== 201) throw apiError(response, { verb: "create", resource: "events", ...this.ref }, this.api.connection.identity);
  }

  /** The Secret's events of ours that the API server still keeps, oldest first. */
  async read(): Promise<EventLog> {
    const query = new URLSearchParams({
      labelSelector: Object.entries(MANAGED_BY).map(([key, value]) => `${key}=${value}`).join(","),
      fieldSelector: `involvedObject.kind=Secret,involvedObject.name=${this.ref.name}`,
    });
    const response = await this.api.request<{ items?: { metadata?: { annotations?: Record<string, string> } }[] }>("GET", `${this.collection}?${query}`);
    if (response.status !== 200) throw apiError(response, { verb: "list", resource: "events", ...this.ref }, this.api.connection.identity);
    // A line that is no event (someone else's Event with our label) is counted, not trusted.
    const lines = (response.body.items ?? []).map((item) => (item.metadata?.annotations?.[EVENT_ANNOTATION] ?? "").replace(/\n/g, " ") || "-");
    const log = parseEvents(lines.join("\n"));
    log.events.sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
    return log;
  }
}

/** run-start → RunStart: an Event's reason is UpperCamelCase. */
function reasonOf(kind: AuditEvent["kind"]): string {
  return kind.replace(/(^|-)([a-z])/g, (_, __, letter: string) => letter.toUpperCase());
}

function isWarning(event: AuditEvent): boolean {
  return WARNING_KINDS.has(event.kind) || (event.kind === "refresh" && event.outcome !== "ok") || (event.kind === "write-back" && event.outcome === "refused");
}

function summary(event: AuditEvent): string {
  const where = [event.container && `container ${event.container}`, event.host && `on ${event.host}`, event.generation !== undefined && `generation ${event.generation}`].filter(Boolean).join(", ");
  return `${event.by}: ${event.kind}${event.outcome ? ` (${event.outcome})` : ""}${event.detail ? `: ${event.detail}` : ""}${where ? ` [${where}]` : ""}`;
}
