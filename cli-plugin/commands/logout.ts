import { STORE_OPTIONS, storeSelection, type CommandSpec } from "../docker-cli/spec";

// The implementation is loaded when the command runs: other commands start faster.
export const logoutCommand: CommandSpec = {
  path: ["logout"],
  usage: "[OPTIONS]",
  summary: "Remove a profile's login from its store, keeping its settings",
  description: "Every capture holding a token is removed; .claude.json and the user settings stay for the next login. The tokens stay valid at Anthropic until they expire: the command says where to revoke them.",
  options: [...STORE_OPTIONS],
  run: async (args, { docker }) => (await import("../services/logout")).logoutProfile({ selection: storeSelection(args, "logout") }, docker),
};
