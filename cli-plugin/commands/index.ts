import type { CommandSpec, GroupSpec } from "../docker-cli/spec";
import { buildCommand } from "./build";
import { doctorCommand } from "./doctor";
import { eventsCommand } from "./events";
import { installCommand } from "./install";
import { logoutCommand } from "./logout";
import { profileLsCommand } from "./profile-ls";
import { profileRmCommand } from "./profile-rm";
import { refreshCommand } from "./refresh";
import { runCommand } from "./run";
import { setupCommand } from "./setup";
import { statusCommand } from "./status";
import { swarmGroup } from "./swarm";
import { testCommand } from "./test";
import { versionCommand } from "./version";

// Every command, in the order help lists them.
export const COMMANDS: CommandSpec[] = [
  buildCommand,
  doctorCommand,
  eventsCommand,
  installCommand,
  logoutCommand,
  refreshCommand,
  runCommand,
  setupCommand,
  statusCommand,
  testCommand,
  versionCommand,
];

export const GROUPS: GroupSpec[] = [{ name: "profile", summary: "Manage profiles (one store per profile)", commands: [profileLsCommand, profileRmCommand] }, swarmGroup];
