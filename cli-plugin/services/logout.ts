import { print } from "../../core/output";
import type { Docker } from "../engine/docker";
import { openBackend, REVOKE_WHERE } from "../stores/backends";
import { describeStore, resolveStore, type StoreSelection } from "../stores/profile";

// logout: the store forgets the login (every capture that held a token, and any rescued
// pair) and keeps the profile's settings. The tokens themselves stay valid at Anthropic
// until they expire or are revoked there, so say where.

export type LogoutOptions = { selection: StoreSelection };

export async function logoutProfile(options: LogoutOptions, docker: Docker): Promise<number> {
  const ref = resolveStore(options.selection);
  const generation = await openBackend(ref, docker).logout();
  if (generation === null) {
    print(`profile ${ref.profile} is not logged in (${describeStore(ref)}): nothing to remove`);
    return 0;
  }
  print(`logged out profile ${ref.profile}: ${describeStore(ref)} holds no login any more (its settings are kept, capture #${generation}).\nThe tokens stay valid at Anthropic until they expire: to revoke this login now, ${REVOKE_WHERE}. (The CLI's own /logout inside a run clears only that run's working copy.)`);
  return 0;
}
