import { METADATA } from "./metadata";

const args = process.argv.slice(2);
if (args[0] === "docker-cli-plugin-metadata") {
  process.stdout.write(JSON.stringify(METADATA, null, 2) + "\n");
  process.exit(0);
}
process.stderr.write("docker claudeauth: commands are not built yet\n");
process.exit(1);
