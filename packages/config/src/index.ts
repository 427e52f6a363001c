export { retryDelayMs } from "./backoff.js";
export { amqpUrlListProblem, brokerUrls, splitUrlList } from "./brokerUrls.js";
export { parseCeleryRate } from "./celeryRate.js";
export {
  ContractViolation,
  contractRegistry,
  type DefineTaskOptions,
  defineTask,
  type ParsedArgs,
  type ParsedKwargs,
  type TaskExample,
  type ValidationIssue,
  validateCall,
  validateResult,
} from "./contracts.js";
export {
  coerceError,
  describeError,
  ERROR_CODES,
  type ErrorCode,
  isToolboxError,
  ToolboxError,
  type ToolboxErrorOptions,
} from "./errors.js";
export { type ConfigField, configFields, envVarName, fieldByPath } from "./fields.js";
export {
  ConfigError,
  type ConfigIssue,
  type Connection,
  DEVELOPMENT_PRESET,
  type DeepPartial,
  envText,
  type LoadConfigOptions,
  loadConfig,
  type Mode,
  parseConfig,
} from "./loadConfig.js";
export { maskSecrets, maskUrl } from "./mask.js";
export {
  DELAY_HEADER,
  entityNames,
  formatDelay,
  type ParsedTaskName,
  PLATFORM_DEAD_LETTER_KEY,
  parseTaskName,
  RESERVED_SERVICE_NAMES,
  SERVICE_NAME_PATTERN,
  serviceBindingKey,
  taskNameProblem,
} from "./names.js";
export { pickDelayRung, planTopology, WORKER_ID_PLACEHOLDER } from "./planTopology.js";
export {
  CONFIG_ROLES,
  type ConfigRole,
  ROLE_LABEL,
  ROLE_REQUIREMENTS,
  requireDatabaseUrl,
  rolesNeeding,
} from "./roles.js";
export { configSchema, retryPolicySchema } from "./schema.js";
export {
  ALLOW_PLAINTEXT_VARS,
  databaseUrlUsesTls,
  isLoopbackHost,
  type PlaintextConnection,
  plaintextConnections,
  plaintextRefusals,
  type TransportSettings,
} from "./transport.js";
export type * from "./types.js";
