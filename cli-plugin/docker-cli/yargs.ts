import type { Argv } from "yargs";
import yargs from "yargs";

// yargs through its public entry. yargs 18 is ESM-only and its Node entry reads
// `import.meta.url` when it loads; the CommonJS bundle inside the single executable gets it
// from scripts/build.mjs (a define and a banner). yargs' own help, version and exit are off:
// help.ts renders Docker's layout, and errors go through parse.ts.

/** A yargs instance for `args`, with yargs' own help, version and exit turned off. */
export function makeYargs(args: string[]): Argv {
  return yargs(args, process.cwd()).help(false).version(false).exitProcess(false);
}
