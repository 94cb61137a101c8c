import { importLogin, logout, parseImportRequest, validateLogin } from "../core/store-login";
import { UserError } from "../core/errors";
import { log, print } from "../core/output";
import { openStore } from "./open-store";
import type { Options } from "./options";

// import and logout modes, for stores only a container can reach (a Docker volume): the
// plugin reads a login on the host (as the user, who may read ~/.claude) and hands it in on
// stdin, so it touches no other disk; the core validates and commits it by compare-and-swap.

const MAX_REQUEST_BYTES = 48 * 1024 * 1024;

export async function importMode(options: Options): Promise<number> {
  const { files, source, expectedGeneration } = parseImportRequest(await readStdin());
  const store = openStore(options.store, options.owner, options);
  const capture = await importLogin(store, validateLogin(files, "the login handed in"), source, expectedGeneration);
  print(JSON.stringify({ generation: capture.generation }));
  return 0;
}

export async function logoutMode(options: Options): Promise<number> {
  const out = await logout(openStore(options.store, options.owner, options));
  if (out) log.info(`logged out (capture ${out.generation} keeps the settings, no token)`);
  print(JSON.stringify({ loggedOut: out !== null, generation: out?.generation ?? null }));
  return 0;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > MAX_REQUEST_BYTES) throw new UserError(`import: more than ${MAX_REQUEST_BYTES / 1024 / 1024} MiB on stdin`, 125);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}
