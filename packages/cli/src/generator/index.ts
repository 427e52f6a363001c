export { type AddTaskOptions, type AddTaskResult, addTask } from "./addTask.js";
export {
  type Answers,
  PACKAGE_MANAGERS,
  serviceNameProblem,
  taskPartProblem,
  textProblem,
  validateAnswers,
  versionProblem,
} from "./answers.js";
export { type FleetEntry, fleet } from "./fleet.js";
export type { FileChange, FileFailure } from "./fsPlan.js";
export { type GenerateOptions, type GenerateResult, generate } from "./generate.js";
export { HELPER_NAMES } from "./helpers.js";
export { BASE_DIR, MANIFEST_FILE, type Manifest, readManifest } from "./manifest.js";
export { threeWayMerge } from "./merge.js";
export { type RenderedFile, renderService } from "./render.js";
export { installAndTest, type ServiceSteps, type StepResult, stepsPassed } from "./serviceScripts.js";
export { loadTemplate, type Template, type TemplateRef, templatesRoot, toolboxVersion } from "./template.js";
export {
  checkFailed,
  type FileUpgrade,
  type ServiceUpgrade,
  type UpgradeOptions,
  upgrade,
} from "./upgrade.js";
