import { log } from "../core/output";
import { commitLongLivedToken, validateLongLivedToken } from "../core/long-lived-token";
import type { Store } from "../core/store";
import { recordEvent } from "./audit";

// Long-lived token mode, container side: a token piped in on stdin (never on a command
// line) becomes a new capture in the mounted store. The plugin finds the token in the
// output of `claude setup-token`, or the user pipes one made elsewhere.
export async function captureTokenFromStdin(store: Store): Promise<number> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const capture = await commitLongLivedToken(store, validateLongLivedToken(Buffer.concat(chunks).toString("utf8")), "token-stdin");
  await recordEvent(store, { kind: "import", outcome: "long-lived", generation: capture.generation, detail: "a long-lived token from stdin" });
  log.info(`stored the long-lived token (capture ${capture.generation})`);
  return 0;
}
