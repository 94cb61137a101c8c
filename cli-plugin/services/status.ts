import { UserError } from "../../core/errors";
import { print } from "../../core/output";
import { analyze, type StoreStatus } from "../stores/analyze";
import type { Docker } from "../engine/docker";
import { renderStatus, statusJson } from "../stores/format";
import { hubRoot, listHostProfiles, resolveStore, type StoreRef, type StoreSelection } from "../stores/profile";
import { readReport } from "../stores/backends";
import { UsageError } from "../docker-cli/spec";

// status: the host's view of a store; no container for host dirs (fast enough for a
// monitor to call every minute), one throw-away container for a volume.

export type StatusOptions = { selection: StoreSelection; all: boolean; json: boolean; files: boolean };

export async function status(options: StatusOptions, docker: Docker): Promise<number> {
  let statuses: StoreStatus[];
  if (options.all) {
    if (options.selection.store || options.selection.volume || options.selection.profile) {
      throw new UsageError("--all shows every profile under the hub directory: leave out --profile, --store and --volume", "docker claudeauth status");
    }
    const profiles = listHostProfiles();
    if (profiles.length === 0) throw new UserError(`no profiles under ${hubRoot()}: log in with "docker claudeauth setup"`);
    statuses = await Promise.all(
      profiles.map(async (profile) => {
        const ref = resolveStore({ profile }) as StoreRef & { kind: "dir" };
        return analyze(ref, await readReport(ref, docker));
      }),
    );
  } else {
    const ref = resolveStore(options.selection);
    statuses = [analyze(ref, await readReport(ref, docker))];
  }

  if (options.json) {
    const json = statuses.map(statusJson);
    print(JSON.stringify(options.all ? json : json[0], null, 2));
  } else {
    print(statuses.map((s) => renderStatus(s, { files: options.files })).join("\n\n"));
  }
  return statuses.every((s) => s.healthy) ? 0 : 1;
}
