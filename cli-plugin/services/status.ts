import { UserError } from "../../core/errors";
import { print } from "../../core/output";
import { analyze, type StoreStatus } from "../stores/analyze";
import type { Docker } from "../engine/docker";
import { renderStatus, statusJson } from "../stores/format";
import { hubRoot, listHostProfiles, resolveAnyStore, resolveStore, type HostStoreRef, type StoreSelection } from "../stores/profile";
import { readReport } from "../stores/backends";
import { UsageError } from "../docker-cli/spec";
import { render, type Format } from "../docker-cli/format";

// status: the host's view of a store; no container for host dirs (fast enough for a
// monitor to call every minute), one throw-away container for a volume.

export type StatusOptions = { selection: StoreSelection; all: boolean; format: Format; quiet: boolean; files: boolean };

export async function status(options: StatusOptions, docker: Docker): Promise<number> {
  let statuses: StoreStatus[];
  if (options.all) {
    if (options.selection.store || options.selection.volume || options.selection.profile) {
      throw new UsageError("--all shows every profile under the hub directory: leave out --profile, --store and --store-volume", "docker claudeauth status");
    }
    const profiles = listHostProfiles();
    if (profiles.length === 0) throw new UserError(`no profiles under ${hubRoot()}: log in with "docker claudeauth setup"`);
    statuses = await Promise.all(
      profiles.map(async (profile) => {
        const ref = resolveStore({ profile }) as HostStoreRef & { kind: "dir" };
        return analyze(ref, await readReport(ref, docker));
      }),
    );
  } else {
    const ref = resolveAnyStore(options.selection);
    statuses = [analyze(ref, await readReport(ref, docker))];
  }

  const json = statuses.map(statusJson);
  const table = () => statuses.map((s) => renderStatus(s, { files: options.files })).join("\n\n");
  if (!options.quiet) print(render(options.format, { json: options.all ? json : json[0], items: json, table }));
  return statuses.every((s) => s.healthy) ? 0 : 1;
}
