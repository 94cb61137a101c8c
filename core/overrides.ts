import path from "node:path";
import { MAX_AUTH_FILE_BYTES, SETTINGS_FILE } from "./layout";
import { lstatOrNull, readRegularFile } from "./safe-fs";

// Things that make the Claude CLI ignore the stored login without a word: an API key in its
// environment, or an apiKeyHelper (a command that prints a key) or such a key in the `env`
// of the captured settings.json. Each is said in one line by doctor, status and at run start.

/** Variables the CLI prefers to the OAuth login. */
export const AUTH_OVERRIDE_VARIABLES = ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"] as const;

/** One line per override found in an environment and in the text of a settings.json (null: none). */
export function overrideWarnings(env: Record<string, string | undefined>, settingsText: string | null, where = "the run's environment"): string[] {
  return [...environmentWarnings(env, where), ...settingsWarnings(settingsText)];
}

/** One line per variable of `env` that the CLI prefers to the stored login. */
export function environmentWarnings(env: Record<string, string | undefined>, where: string): string[] {
  return AUTH_OVERRIDE_VARIABLES.filter((name) => env[name]).map(
    (name) => `${name} is set in ${where}: the Claude CLI uses it instead of the stored login; unset it (or leave out -e ${name}) to use the login`,
  );
}

/** One line per override in the text of a capture's settings.json (null: none). */
export function settingsWarnings(text: string | null): string[] {
  if (text === null) return [];
  let settings: unknown;
  try {
    settings = JSON.parse(text);
  } catch {
    return [];
  }
  if (typeof settings !== "object" || !settings) return [];
  const { apiKeyHelper, env } = settings as { apiKeyHelper?: unknown; env?: unknown };
  const fix = `remove it from ~/.claude/${SETTINGS_FILE} and run "docker claudeauth setup" again`;
  const warnings: string[] = [];
  if (apiKeyHelper !== undefined) warnings.push(`the login's ${SETTINGS_FILE} sets apiKeyHelper: the Claude CLI uses the key it prints instead of the stored login; ${fix}`);
  if (typeof env === "object" && env) {
    for (const name of AUTH_OVERRIDE_VARIABLES.filter((n) => n in env)) {
      warnings.push(`the login's ${SETTINGS_FILE} sets ${name} in "env": the Claude CLI uses it instead of the stored login; ${fix}`);
    }
  }
  return warnings;
}

/** The text of a capture's settings.json; null when it has none or it is not a plain file. */
export function readSettings(captureDir: string): string | null {
  const file = path.join(captureDir, SETTINGS_FILE);
  try {
    return lstatOrNull(file) ? readRegularFile(file, MAX_AUTH_FILE_BYTES).toString("utf8") : null;
  } catch {
    return null;
  }
}
