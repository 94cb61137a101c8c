import { METADATA } from "./docker-cli/metadata";

// docker-claudeauth. Docker runs `docker-claudeauth docker-cli-plugin-metadata` before every
// plugin call, on every `docker --help`, `docker info` and tab completion: that answer
// comes first and loads nothing else (the rest of the bundle is initialised lazily).
// As a single executable argv is [binary, binary, ...args]; under plain node, [node, script, ...args].
const args = process.argv.slice(2);
if (args[0] === "docker-cli-plugin-metadata") {
  process.stdout.write(JSON.stringify(METADATA, null, 2) + "\n");
} else {
  void import("./docker-cli/cli").then(async ({ main }) => {
    const code = await main(args);
    // Let stdout drain before exiting (a pipe may be slow).
    if (process.stdout.writableLength > 0) process.stdout.once("drain", () => process.exit(code));
    else process.exit(code);
  });
}
