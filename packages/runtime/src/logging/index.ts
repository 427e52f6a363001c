/**
 * Logging of toolbox processes: one pino logger whose format (JSON lines or pino-pretty's readable lines)
 * follows `config.logFormat`, and one readable report of the error a process dies of.
 */

export { type FatalReportOptions, installCrashReporter, reportFatal } from "./crashReport.js";
export {
  type CreateLoggerOptions,
  createLogger,
  type LogDestination,
  type LogFormat,
  resolveLogFormat,
} from "./createLogger.js";
