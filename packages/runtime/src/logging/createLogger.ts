import { createRequire } from "node:module";
import type { ToolboxConfig } from "@worker-toolbox/config";
import { type DestinationStream, type Logger, type LoggerOptions, pino } from "pino";

export type LogFormat = ToolboxConfig["logFormat"];

/** Where log lines go: a stream (process.stdout by default) or anything with `write(line)`. */
export type LogDestination = DestinationStream & { isTTY?: boolean };

export interface CreateLoggerOptions {
  /** Default process.stdout. Readable lines are chosen for `auto` only when this is a terminal. */
  destination?: LogDestination;
  /** Fields on every line, e.g. `{ service }`. */
  base?: Record<string, unknown>;
  /** Overrides `config.logFormat`. */
  format?: LogFormat;
}

/**
 * `auto` is readable lines in development and test modes on a terminal, JSON otherwise — production
 * logs stay machine-readable even when a container is started with a TTY (`docker run -t`).
 */
export function resolveLogFormat(
  format: LogFormat,
  mode: ToolboxConfig["mode"],
  isTTY: boolean | undefined,
): "pretty" | "json" {
  if (format !== "auto") return format;
  return mode !== "production" && isTTY === true ? "pretty" : "json";
}

/**
 * The pino logger of a toolbox process (worker, tracker, `worker-toolbox dev`): `config.logLevel`, and
 * `config.logFormat` deciding between one JSON object per line and pino-pretty's readable lines.
 * Readable lines are formatted in this thread, synchronously (pino-pretty's formatter, not its transport
 * stream): a line logged just before the process exits is on the screen, in order.
 */
export function createLogger(
  config: Pick<ToolboxConfig, "logLevel" | "logFormat" | "mode">,
  options: CreateLoggerOptions = {},
): Logger {
  const destination = options.destination ?? process.stdout;
  const pinoOptions: LoggerOptions = {
    level: config.logLevel,
    ...(options.base ? { base: options.base } : {}),
  };
  const format = resolveLogFormat(options.format ?? config.logFormat, config.mode, destination.isTTY);
  if (format === "json") return pino(pinoOptions, destination);
  return pino(pinoOptions, prettyDestination(destination));
}

// pino-pretty is CommonJS and only needed for readable output: loaded on first use.
const require = createRequire(import.meta.url);

/** A destination that turns each JSON line pino writes into a readable line on `destination`. */
function prettyDestination(destination: LogDestination): DestinationStream {
  const { prettyFactory } = require("pino-pretty") as typeof import("pino-pretty");
  const prettify = prettyFactory({
    colorize: destination.isTTY === true && !process.env.NO_COLOR,
    translateTime: "SYS:HH:MM:ss.l",
    // `WARN: [billing] worker: task failed {"taskId":…}` — who is speaking first, then the message.
    messageFormat: "{if service}[{service}] {end}{if component}{component}: {end}{msg}",
    ignore: "pid,hostname,service,component",
    singleLine: true,
  });
  return { write: (line: string) => destination.write(prettify(line)) };
}
