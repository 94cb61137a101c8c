import path from "node:path";
import { DirStore } from "../../core/store-dir";
import { describeStoreSpec } from "../support/store-spec";
import { tempRoot } from "../support/fixtures";
import { STORE_OWNER } from "../support/test-user";

// The directory backend (a host dir; a Docker volume as the entrypoint sees it) against the store spec.
describeStoreSpec("directory", async () => new DirStore(path.join(tempRoot(), "store"), process.getuid?.() === 0 ? STORE_OWNER : undefined));
