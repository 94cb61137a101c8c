import fs from "node:fs";
import { UserError } from "../core/errors";
import type { Owner } from "../core/safe-fs";
import type { Store } from "../core/store";
import { DirStore } from "../core/store-dir";
import { parseStoreAddress } from "../core/store-address";

/** The host user who owns the store: given as "uid:gid", else whoever owns the store dir now. */
function resolveOwner(spec: string | undefined, storeDir: string): Owner {
  if (spec) {
    const match = /^(\d+):(\d+)$/.exec(spec);
    if (!match) throw new UserError(`--owner must be UID:GID (e.g. 1000:1000), got "${spec}"`, 125);
    return { uid: Number(match[1]), gid: Number(match[2]) };
  }
  try {
    const stat = fs.statSync(storeDir);
    return { uid: stat.uid, gid: stat.gid };
  } catch {
    return { uid: process.getuid!(), gid: process.getgid!() };
  }
}

/** The store at `address` (--store): the backend its address names. A directory store writes files as its owner. */
export function openStore(address: string, ownerSpec: string | undefined): Store {
  const parsed = parseStoreAddress(address);
  switch (parsed.kind) {
    case "dir":
      return new DirStore(parsed.path, resolveOwner(ownerSpec, parsed.path));
  }
}
