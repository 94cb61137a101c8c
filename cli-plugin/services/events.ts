import { UserError } from "../../core/errors";
import { parseDuration } from "../../core/duration";
import { log, print } from "../../core/output";
import { EVENT_FIELDS, type AuditEvent } from "../../core/events";
import type { Docker } from "../engine/docker";
import { resolveAnyStore, type StoreSelection } from "../stores/profile";
import { readReport } from "../stores/backends";
import { alignColumns, render, type Format } from "../docker-cli/format";
import { requireStore } from "./run";

// events: the store's audit trail (setups, imports, refreshes with the endpoint's answer,
// runs with their container, image and host, refused write-backs and attacks, lock breaks,
// logouts), oldest first, from the store's report: a host directory read directly, a volume
// through the entrypoint's inspect mode in a throw-away container, a k8s:// store's Events
// through the API server.

export type EventsOptions = { selection: StoreSelection; since: string | undefined; format: Format };

export async function events(options: EventsOptions, docker: Docker): Promise<number> {
  const since = options.since === undefined ? null : Date.now() - parseDuration(options.since);
  const ref = resolveAnyStore(options.selection);
  // A k8s:// store's events are Kubernetes Events about its Secret, read with the kubeconfig.
  if (ref.kind !== "k8s") await requireStore(ref, docker);
  const report = await readReport(ref, docker);
  if (!report.exists) throw new UserError(`no store for profile ${ref.profile}`);
  if (report.eventsProblem !== null) throw new UserError(`the store's event log does not read (${report.eventsProblem}): move it aside`);
  const skipped = report.eventsSkipped;
  if (skipped > 0) log.warn(`${skipped} line${skipped === 1 ? "" : "s"} of the event log ${skipped === 1 ? "is" : "are"} not an event (a torn write or an edit): left out`);
  const shown = since === null ? report.events : report.events.filter((event) => Date.parse(event.time) >= since);
  const empty = since === null ? "no events recorded yet" : `no events in the last ${options.since}`;
  // A template sees every field (empty when an event has none), as it would in docker events.
  const items = shown.map((event) => Object.fromEntries(EVENT_FIELDS.map((field) => [field, event[field] ?? null])));
  print(render(options.format, { json: shown, items, table: () => (shown.length === 0 ? empty : table(shown)) }));
  return 0;
}

function table(events: AuditEvent[]): string {
  const rows = [
    ["TIME", "EVENT", "OUTCOME", "CONTAINER", "DETAIL"],
    ...events.map((e) => [
      e.time.replace(/\.\d+Z$/, "Z"),
      e.kind,
      e.outcome ?? (e.exitCode !== undefined ? `exit ${e.exitCode}` : "-"),
      e.container ?? "-",
      [e.detail, e.image && `image ${e.image}`, e.host && `host ${e.host}`, e.generation !== undefined && `capture ${e.generation}`].filter(Boolean).join("; ") || "-",
    ]),
  ];
  // A field is text a stranger chose: a tab in it must not make a column.
  return alignColumns(rows.map((row) => row.map((cell) => cell.replace(/\t/g, " ")).join("\t")));
}
