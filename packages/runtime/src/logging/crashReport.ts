import { describeError, isToolboxError, type ToolboxError } from "@worker-toolbox/config";
import { pino } from "pino";
import { type LogFormat, resolveLogFormat } from "./createLogger.js";

export interface FatalReportOptions {
  /** Default WT_LOG_FORMAT, else `auto`: readable on a terminal outside production mode. */
  format?: LogFormat;
  env?: Record<string, string | undefined>;
  /** Readable reports go here (default process.stderr). */
  stderr?: { write(text: string): unknown; isTTY?: boolean };
  /** JSON reports go here, where the process's log lines go (default process.stdout). */
  stdout?: { write(text: string): unknown };
}

/**
 * Report the error a process dies of, once: readable text (`error CODE: message`, its `fix:` line, the
 * cause) on stderr, or one JSON line at level fatal on stdout beside the other log lines — never a log
 * line plus a stack plus an object dump. Works before the config is loaded (a config error is the most
 * common crash), so the format comes from the environment, not from a parsed config.
 */
export function reportFatal(error: unknown, options: FatalReportOptions = {}): void {
  const env = options.env ?? process.env;
  const stderr = options.stderr ?? process.stderr;
  const requested = options.format ?? (env.WT_LOG_FORMAT as LogFormat | undefined) ?? "auto";
  const format = ["auto", "pretty", "json"].includes(requested) ? requested : "auto";
  const mode = env.WT_MODE === "production" || env.NODE_ENV === "production" ? "production" : "development";
  if (resolveLogFormat(format, mode, stderr.isTTY) === "pretty") {
    stderr.write(`${describeError(error)}\n`);
    return;
  }
  const logger = pino({ base: undefined }, options.stdout ?? process.stdout);
  if (isToolboxError(error)) {
    logger.fatal({ code: error.code, hint: error.hint, ...causeOf(error) }, error.message);
  } else {
    logger.fatal({ err: error }, `crashed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * The cause of a ToolboxError, as the readable report prints it (when the message does not already say all of
 * it): a ToolboxError cause with its code and fix — a send refused while the broker is unreachable carries
 * the broker's fix there, and nothing else may report it.
 */
function causeOf(error: ToolboxError): { cause?: { code?: string; hint?: string; message: string } } {
  const cause = error.cause;
  if (!(cause instanceof Error) || error.message.includes(cause.message)) return {};
  if (!isToolboxError(cause)) return { cause: { message: cause.message } };
  return { cause: { code: cause.code, hint: cause.hint, message: cause.message.split("\n")[0] ?? "" } };
}

/**
 * Report an uncaught error — the config that fails to load at start-up, a start that fails, a bug that
 * escapes — once (reportFatal), then exit 1, instead of Node's stack and object dump. Covers a rejected
 * top-level `await` too (Node raises it as an uncaught exception). Returns the uninstaller.
 *
 *   installCrashReporter();            // first thing in src/worker.ts
 *   const config = loadConfig(…);      // a bad setting is now one readable error with its fix
 */
export function installCrashReporter(options: FatalReportOptions = {}): () => void {
  const handler = (error: unknown) => {
    reportFatal(error, options);
    process.exit(1);
  };
  process.on("uncaughtException", handler);
  return () => {
    process.off("uncaughtException", handler);
  };
}
