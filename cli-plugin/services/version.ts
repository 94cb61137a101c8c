import { print } from "../../core/output";
import { defaultClaudeCodeVersion } from "../engine/assets";
import { VERSION } from "../docker-cli/metadata";
import { render, type Format } from "../docker-cli/format";

// version, as buildx and compose print it: a line, --short, or --format json.
export type VersionOptions = { short: boolean; format: Format };

export function version(options: VersionOptions): number {
  if (options.short) {
    print(VERSION);
    return 0;
  }
  const info = { version: VERSION, node: process.version, platform: `${process.platform}/${process.arch}`, claudeCodeVersion: defaultClaudeCodeVersion() };
  const table = () => `docker-claudeauth version ${VERSION} (node ${info.node}, ${info.platform}${info.claudeCodeVersion ? `, images install Claude Code ${info.claudeCodeVersion}` : ""})`;
  print(render(options.format, { json: info, table, compactJson: true }));
  return 0;
}
