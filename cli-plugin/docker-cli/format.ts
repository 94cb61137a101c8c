import { boolArg, stringArg, UsageError, type Args, type OptionSpec } from "./spec";

// --format, as Docker's commands take it: "table" (the default, for people), "json" (for
// scripts), or a Go-template-like text with {{.Field}} per item ("{{.Profile}} {{.State}}",
// "table {{.Profile}}\t{{.Expires}}" for aligned columns with a header). Only field access
// ({{.A.B}}) and {{json .}} / {{json .A}} are understood; anything else is refused by name.

export type Format = { kind: "table" } | { kind: "json" } | { kind: "template"; template: string; table: boolean };

export const FORMAT_OPTIONS: OptionSpec[] = [
  {
    name: "format",
    type: "string",
    placeholder: "string",
    description: 'Format output: "table" (default), "json", or a template, e.g. "{{.Profile}}"',
    complete: ["table", "json"],
  },
  // Before --format existed: kept as its alias, no longer listed.
  { name: "json", type: "boolean", description: "Same as --format json", hidden: true },
];

/** The format asked for; --json is --format json. */
export function formatArg(args: Args, command: string): Format {
  const given = stringArg(args, "format");
  if (boolArg(args, "json")) {
    if (given !== undefined && given !== "json") throw new UsageError(`--json and --format ${given} ask for different output: pick one`, `docker claudeauth ${command}`);
    return { kind: "json" };
  }
  // "pretty": what version --format took before.
  if (given === undefined || given === "table" || given === "pretty") return { kind: "table" };
  if (given === "json") return { kind: "json" };
  if (!given.includes("{{")) throw new UsageError(`unsupported --format "${given}": use table, json or a template like "{{.Field}}"`, `docker claudeauth ${command}`);
  const table = /^table\s/.test(given);
  const template = (table ? given.replace(/^table\s+/, "") : given).replace(/\\t/g, "\t").replace(/\\n/g, "\n");
  return { kind: "template", template, table };
}

export type Printable = {
  /** What --format json prints (an object, or an array for a list). */
  json: unknown;
  /** The items a template is applied to, one output line each (default: json, or its elements). */
  items?: Record<string, unknown>[];
  /** The human rendering (--format table, the default). */
  table: () => string;
  /** JSON on one line (version, as buildx and compose print it) instead of indented. */
  compactJson?: boolean;
};

export function render(format: Format, data: Printable): string {
  if (format.kind === "table") return data.table();
  if (format.kind === "json") return JSON.stringify(data.json, null, data.compactJson ? undefined : 2);
  const items = data.items ?? (Array.isArray(data.json) ? (data.json as Record<string, unknown>[]) : [data.json as Record<string, unknown>]);
  const lines = items.map((item) => applyTemplate(format.template, item));
  if (!format.table) return lines.join("\n");
  const header = applyTemplate(format.template, null);
  return alignColumns([header, ...lines]);
}

const ACTION = /\{\{\s*(.*?)\s*\}\}/g;

/** One item through the template; `item` null gives the header row (field names in capitals). */
function applyTemplate(template: string, item: Record<string, unknown> | null): string {
  return template.replace(ACTION, (_, action: string) => {
    const json = /^json\s+(\S+)$/.exec(action);
    const path = json ? json[1]! : action;
    if (!/^\.([A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*)?$/.test(path)) {
      throw new UsageError(`unsupported template action "{{${action}}}" in --format: use {{.Field}}, {{.Field.Sub}}, {{json .}} or {{json .Field}}`);
    }
    const names = path === "." ? [] : path.slice(1).split(".");
    if (item === null) return names.length ? names.map((n) => n.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase().replace(/^_/, "")).join("_") : "VALUE";
    const value = lookup(item, names);
    if (json) return JSON.stringify(value ?? null);
    if (value === null || value === undefined) return "";
    return typeof value === "object" ? JSON.stringify(value) : String(value);
  });
}

/** Field lookup as Go templates do it on our JSON: {{.Profile}} finds "profile". */
function lookup(item: unknown, names: string[]): unknown {
  let value = item;
  for (const name of names) {
    if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
    const record = value as Record<string, unknown>;
    const key = Object.keys(record).find((k) => k === name) ?? Object.keys(record).find((k) => k.toLowerCase() === name.toLowerCase());
    if (key === undefined) {
      throw new UsageError(`unknown field "${name}" in --format: the fields are ${Object.keys(record).map((k) => k[0]!.toUpperCase() + k.slice(1)).join(", ")}`);
    }
    value = record[key];
  }
  return value;
}

/** Tab-separated cells in columns, three spaces apart, as Docker's tabwriter prints them. */
export function alignColumns(lines: string[]): string {
  const rows = lines.map((line) => line.split("\t"));
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]! + 3))).join("").trimEnd()).join("\n");
}
