import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import sea from "node:sea";
import { UserError } from "../../core/errors";
import { log, print } from "../../core/output";
import { PLUGIN_FILE, pluginDirs } from "./doctor";
import { VERSION } from "../docker-cli/metadata";
import { makeSingleExecutable } from "./single-executable";

// install: copy this binary to where docker finds plugins: $DOCKER_CONFIG/cli-plugins (or
// --config DIR/cli-plugins), else ~/.docker/cli-plugins. Atomic (temp file + rename), so
// a docker call running the old copy is never handed half a binary.

export type InstallOptions = { configDir: string | undefined; dir: string | undefined; singleExecutable: boolean };

export async function install(options: InstallOptions): Promise<number> {
  let isSea = false;
  try {
    isSea = sea.isSea();
  } catch {
    // Node without SEA support
  }
  const script = !isSea && process.argv[1] ? fs.realpathSync(process.argv[1]) : "";
  // The npm package (a bundle on the host's Node) installs a launcher instead of a copy.
  const fromPackage = !isSea && script.endsWith(".cjs");
  if (!isSea && !fromPackage) throw new UserError("install copies the built binary: run dist/docker-claudeauth install (after npm run build)");
  if (options.singleExecutable && !fromPackage) throw new UserError("--single-executable is for the npm package; this binary is one already: drop the option");
  // Docker on Windows runs only docker-claudeauth.exe: there the package makes a single
  // executable from this Node (services/single-executable.ts) instead of a launcher script.
  const makeExecutable = fromPackage && (options.singleExecutable || process.platform === "win32");
  const configDir = options.configDir || process.env.DOCKER_CONFIG || path.join(os.homedir(), ".docker");
  const dir = options.dir ? path.resolve(options.dir) : path.join(configDir, "cli-plugins");
  const target = path.join(dir, PLUGIN_FILE);
  const source = fs.realpathSync(process.execPath);
  try {
    if (!makeExecutable && fs.realpathSync(target) === source) {
      print(`docker-claudeauth ${VERSION} is already installed at ${target}`);
      return 0;
    }
  } catch {
    // not installed yet
  }
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  const temp = path.join(dir, `.docker-claudeauth.tmp-${process.pid}`);
  try {
    if (makeExecutable) await makeSingleExecutable(script, temp);
    else if (fromPackage) fs.writeFileSync(temp, launcherScript(source, script));
    else fs.copyFileSync(source, temp);
    fs.chmodSync(temp, 0o755);
    fs.renameSync(temp, target);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    if (error instanceof UserError) throw error;
    throw new UserError(`cannot install into ${dir}: ${(error as Error).message}`);
  }
  print(`installed docker-claudeauth ${VERSION} to ${target}\ntry: docker claudeauth version`);
  const first = pluginDirs(options.configDir).map((d) => path.join(d, PLUGIN_FILE)).find((file) => fs.existsSync(file));
  if (first && path.resolve(first) !== path.resolve(target)) log.warn(`docker finds ${first} first (cliPluginsExtraDirs in config.json): remove it or install there with --dir`);
  return 0;
}

/** A shell launcher that runs the npm package's bundle on the Node that ran install. */
function launcherScript(node: string, script: string): string {
  const quote = (text: string) => `'${text.replace(/'/g, "'\\''")}'`;
  return `#!/bin/sh\n# docker-claudeauth ${VERSION}, installed from the npm package: the plugin runs on this Node.\nexec ${quote(node)} ${quote(script)} "$@"\n`;
}
