import { z } from "zod";
import { doc } from "./doc.js";

/** `logLevel`: the pino log level. */
export const logLevelSchema = doc(
  z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  "pino log level.",
  "info",
);

/** `logFormat`: readable lines or one JSON object per line. */
export const logFormatSchema = doc(
  z.enum(["auto", "pretty", "json"]).default("auto"),
  "Log line format. auto: readable lines (pino-pretty) in development and test modes when the output is a " +
    "terminal, one JSON object per line otherwise (always in production mode); pretty or json: always that.",
  "json",
);
