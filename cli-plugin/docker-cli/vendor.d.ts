// yargs-parser's browser build (no import.meta, see yargs.ts) has the Node build's API.
declare module "yargs-parser/browser" {
  import Parser from "yargs-parser";
  export default Parser;
}
