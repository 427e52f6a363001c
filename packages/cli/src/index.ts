export { buildCli, HELP_WIDTH, runCli } from "./cli.js";
export { commandTable } from "./commands/index.js";
export type { CommandBody, CommandEntry, CommandTable } from "./commands/table.js";
export type { CliIo, CommandContext, GlobalOptions } from "./context.js";
export {
  type Answers,
  addTask,
  checkFailed,
  type GenerateOptions,
  type GenerateResult,
  generate,
  upgrade,
} from "./generator/index.js";
export { commandPaths, helpText } from "./helpText.js";
