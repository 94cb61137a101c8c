import { print } from "../../core/output";
import { defaultClaudeCodeVersion } from "../engine/assets";
import { VERSION } from "../docker-cli/metadata";
import { UsageError } from "../docker-cli/spec";

// version, as buildx and compose print it: a line, --short, or --format json.
export type VersionOptions = { short: boolean; format: string | undefined };

export function version(options: VersionOptions): number {
  if (options.short) {
    print(VERSION);
    return 0;
  }
  const info = { version: VERSION, node: process.version, platform: `${process.platform}/${process.arch}`, claudeCodeVersion: defaultClaudeCodeVersion() };
  if (options.format === "json") print(JSON.stringify(info));
  else if (options.format === undefined || options.format === "pretty") {
    print(`docker-claudeauth version ${VERSION} (node ${info.node}, ${info.platform}${info.claudeCodeVersion ? `, images install Claude Code ${info.claudeCodeVersion}` : ""})`);
  } else throw new UsageError(`unsupported --format "${options.format}": use json or pretty`, "docker claudeauth version");
  return 0;
}
