import type { CommandModule } from "yargs";
import type { CommandContext } from "../context.js";
import { addCommands } from "./add.js";
import { celeryConfigCommand } from "./celeryConfig.js";
import { configCommands } from "./config.js";
import { dashboardCommand } from "./dashboard.js";
import { dbCommands } from "./db.js";
import { dlqCommands } from "./dlq.js";
import { doctorCommand } from "./doctor.js";
import { fleetCommand } from "./fleet.js";
import { monitorCommand } from "./monitor.js";
import { newCommand } from "./new.js";
import { sendCommand } from "./send.js";
import { taskCommand, tasksCommand } from "./tasks.js";
import { topologyCommands } from "./topology.js";
import { trackCommand } from "./track.js";
import { upgradeCommand } from "./upgrade.js";

/**
 * Every command group of `worker-toolbox`, in help order. Adding a group is one line here: a function that
 * takes the command context and returns a yargs command module (see ./config.ts for the shape).
 */
export const commandGroups: ReadonlyArray<(ctx: CommandContext) => CommandModule> = [
  newCommand,
  addCommands,
  upgradeCommand,
  fleetCommand,
  configCommands,
  topologyCommands,
  dbCommands,
  trackCommand,
  doctorCommand,
  monitorCommand,
  dlqCommands,
  sendCommand,
  taskCommand,
  tasksCommand,
  dashboardCommand,
  celeryConfigCommand,
];
