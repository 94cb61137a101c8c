import { UserError } from "../../core/errors";
import { parseDuration } from "../../core/duration";
import { log, print } from "../../core/output";
import type { AuditEvent } from "../../core/events";
import type { Docker } from "../engine/docker";
import { eventsOf } from "../stores/events";
import { resolveStore, type StoreSelection } from "../stores/profile";
import { readSnapshot } from "../stores/snapshot";
import { UsageError } from "../docker-cli/spec";
import { requireStore } from "./run";

// events: the store's audit trail (setups, imports, refreshes with the endpoint's answer,
// runs with their container, image and host, refused write-backs and attacks, lock breaks),
// oldest first. A host directory is read directly; a volume through a throw-away container.

export type EventsOptions = { selection: StoreSelection; since: string | undefined; format: string | undefined };

export async function events(options: EventsOptions, docker: Docker): Promise<number> {
  if (options.format !== undefined && options.format !== "json" && options.format !== "table") {
    throw new UsageError(`unsupported --format "${options.format}": use json or table`, "docker claudeauth events");
  }
  const since = options.since === undefined ? null : Date.now() - parseDuration(options.since);
  const ref = resolveStore(options.selection);
  await requireStore(ref, docker);
  const snapshot = await readSnapshot(ref, docker);
  if (!snapshot.exists) throw new UserError(`no store for profile ${ref.profile}`);
  const { events: all, skipped } = eventsOf(snapshot);
  if (skipped > 0) log.warn(`${skipped} line${skipped === 1 ? "" : "s"} of the event log ${skipped === 1 ? "is" : "are"} not an event (a torn write or an edit): left out`);
  const shown = since === null ? all : all.filter((event) => Date.parse(event.time) >= since);
  if (options.format === "json") print(JSON.stringify(shown, null, 2));
  else if (shown.length === 0) print(since === null ? "no events recorded yet" : `no events in the last ${options.since}`);
  else print(table(shown));
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
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]! + 3))).join("").trimEnd()).join("\n");
}
