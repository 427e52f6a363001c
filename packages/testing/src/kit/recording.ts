import { randomUUID } from "node:crypto";
import type { AnyTaskContract } from "@worker-toolbox/config";
import type { FollowUpOptions, ProgressUpdate, SendReceipt } from "@worker-toolbox/runtime";
import { type Logger, pino } from "pino";

/** A follow-up task a handler sent with `ctx.send` (recorded, not run). */
export interface SentTask {
  name: string;
  contract: AnyTaskContract;
  /** As the handler passed them (the worker that runs the task parses them). */
  args: unknown;
  kwargs: unknown;
  options: FollowUpOptions | undefined;
  /** The receipt the handler got. */
  id: string;
}

/** One log line a handler wrote through `ctx.logger`, as pino wrote it (`msg` and the fields). */
export interface LogLine {
  level: "trace" | "debug" | "info" | "warn" | "error" | "fatal";
  msg: string;
  [field: string]: unknown;
}

/** What a handler did besides returning: follow-up sends, progress updates, log lines. */
export interface Recording {
  readonly sent: SentTask[];
  /** `ctx.progress` calls, in order. */
  readonly progressUpdates: ProgressUpdate[];
  readonly logs: LogLine[];
}

/** A fresh recording, with the logger whose lines go into it and the send that records into it. */
export function newRecording(rootId: string): Recording & {
  logger: Logger;
  record(
    contract: AnyTaskContract,
    args: unknown,
    kwargs: unknown,
    options: FollowUpOptions | undefined,
  ): SendReceipt;
} {
  const sent: SentTask[] = [];
  const logs: LogLine[] = [];
  const logger = pino(
    { level: "trace", base: null, timestamp: false },
    {
      write(line: string) {
        const { level, ...fields } = JSON.parse(line) as { level: number; msg: string };
        logs.push({ ...fields, level: pino.levels.labels[level] as LogLine["level"] });
      },
    },
  );
  return {
    sent,
    progressUpdates: [],
    logs,
    logger,
    record(contract, args, kwargs, options) {
      const id = options?.id ?? randomUUID();
      sent.push({ name: contract.name, contract, args, kwargs, options, id });
      return { id, name: contract.name, rootId };
    },
  };
}
