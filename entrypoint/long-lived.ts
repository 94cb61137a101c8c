import fs from "node:fs";
import path from "node:path";
import { spawn } from "node:child_process";
import { CLAUDE_JSON_FILE, LONG_LIVED_TOKEN_FILE, cliPaths } from "../core/layout";
import { UserError } from "../core/errors";
import { log } from "../core/output";
import { redact, registerSecret } from "../core/redact";
import { lstatOrNull, writeNewFile } from "../core/safe-fs";
import { copyEntry } from "../core/safe-copy";
import type { Store } from "../core/store";
import { exitCodeForSignal } from "./signals";
import { findToken, unsafeTail } from "./token-scanner";
import type { RuntimeUser } from "./user";

// Long-lived token mode: `claude setup-token` prints a year-long OAuth token. We run it
// under `script` (a real terminal for its UI) with its output passing through us, take the
// token from the output, hide it on screen and store it; or read it from stdin.

const TOKEN_SHAPE = /^[A-Za-z0-9_-]{20,}$/;

export async function captureTokenFromCommand(store: Store, user: RuntimeUser, command: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const useScript = process.stdin.isTTY && fs.existsSync("/usr/bin/script");
  const argv = useScript ? ["/usr/bin/script", "-qfec", command.map(shellQuote).join(" "), "/dev/null"] : command;
  const child = spawn(process.execPath, ["__exec", "--user", user.name, "--uid", String(user.uid), "--gid", String(user.gid), "--", ...argv], {
    stdio: ["inherit", "pipe", "inherit"],
    env,
  });
  let seen = "";
  let held = "";
  child.stdout.on("data", (chunk: Buffer) => {
    const text = held + chunk.toString("utf8");
    seen += chunk.toString("utf8");
    const token = findToken(seen, process.stdout.columns || 80);
    registerSecret(token);
    const cut = text.length - unsafeTail(text);
    process.stdout.write(redact(text.slice(0, cut)));
    held = text.slice(cut);
  });
  const code = await new Promise<number>((resolve) => {
    child.on("error", () => resolve(127));
    child.on("exit", (status, signal) => resolve(signal ? exitCodeForSignal(signal) : (status ?? 1)));
  });
  process.stdout.write(redact(held));
  const token = findToken(seen, process.stdout.columns || 80);
  if (!token) {
    throw new UserError('no token found in the output of "claude setup-token": run "docker claudeauth setup --long-lived --token-stdin" and paste it', code || 1);
  }
  await commitToken(store, token, cliPaths(user.home).claudeJson);
  return code;
}

export async function captureTokenFromStdin(store: Store): Promise<number> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const token = Buffer.concat(chunks).toString("utf8").trim();
  registerSecret(token);
  if (!TOKEN_SHAPE.test(token)) {
    throw new UserError("the token on stdin is empty or malformed: pipe exactly the token that `claude setup-token` printed; the store is unchanged");
  }
  await commitToken(store, token, null);
  return 0;
}

async function commitToken(store: Store, token: string, claudeJson: string | null): Promise<void> {
  const capture = await store.commit(
    (draft) => {
      writeNewFile(path.join(draft, LONG_LIVED_TOKEN_FILE), token + "\n", store.owner);
      if (claudeJson && lstatOrNull(claudeJson)) copyEntry(claudeJson, path.join(draft, CLAUDE_JSON_FILE), { owner: store.owner });
    },
    { source: "setup-token", mode: "long-lived" },
  );
  log.info(`stored the long-lived token (capture ${capture.generation})`);
}

function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
