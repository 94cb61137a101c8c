import path from "node:path";
import { inspect } from "node:util";
import type { Argv } from "yargs";
import Parser from "yargs-parser/browser";
// yargs 18 is ESM-only and its Node entry reads `import.meta.url` when it loads, which is
// empty in the CommonJS bundle inside the single executable (and crashes createRequire).
// Its factory takes a "platform shim", so we build yargs from the factory with a shim that
// needs no import.meta: no locale files, no package.json lookup, no commandDir; we render
// help ourselves (help.ts), so cliui is a stub.
// @ts-expect-error: yargs ships no type declarations for its internals
import { YargsFactory } from "../../node_modules/yargs/build/lib/yargs-factory.js";

function format(text: string, ...args: unknown[]): string {
  let i = 0;
  return text.replace(/%s/g, () => String(args[i++] ?? ""));
}

const unsupported = (what: string) => () => {
  throw new Error(`${what} is not supported in docker-claudeauth`);
};

const shim = {
  assert: {
    notStrictEqual: (a: unknown, b: unknown) => {
      if (a === b) throw new Error(`assertion failed: ${String(a)} !== ${String(b)}`);
    },
    strictEqual: (a: unknown, b: unknown) => {
      if (a !== b) throw new Error(`assertion failed: ${String(a)} === ${String(b)}`);
    },
  },
  // yargs builds (and caches) its help text on every parse; we never show it.
  cliui: () => ({ div: () => undefined, span: () => undefined, toString: () => "" }),
  findUp: () => undefined,
  getEnv: (key: string) => process.env[key],
  inspect,
  getCallerFile: unsupported("commandDir"),
  getProcessArgvBin: () => process.argv.slice(0, 2),
  mainFilename: process.cwd(),
  Parser,
  path: {
    basename: path.basename,
    dirname: path.dirname,
    extname: path.extname,
    relative: path.relative,
    resolve: path.resolve,
    join: path.join,
  },
  process: {
    argv: () => process.argv,
    cwd: () => process.cwd(),
    emitWarning: () => undefined,
    execPath: () => process.execPath,
    exit: (code: number) => process.exit(code),
    nextTick: process.nextTick,
    stdColumns: process.stdout.columns ?? null,
  },
  readFileSync: () => "{}",
  readdirSync: () => [],
  require: unsupported("require"),
  stringWidth: (text: string) => [...text].length,
  y18n: {
    __: (text: string, ...args: unknown[]) => format(text, ...args),
    __n: (one: string, many: string, count: number, ...args: unknown[]) => format(count === 1 ? one : many, ...args),
    getLocale: () => "en_US",
    setLocale: () => undefined,
    updateLocale: () => undefined,
  },
};

/** A yargs instance for `args`, with yargs' own help, version and exit turned off. */
export function makeYargs(args: string[]): Argv {
  const create = YargsFactory(shim) as (args: string[], cwd?: string) => Argv;
  return create(args, process.cwd()).help(false).version(false).exitProcess(false);
}
