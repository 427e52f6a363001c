import type { TaskContext } from "@worker-toolbox/runtime";
import { newRecording, type Recording } from "./recording.js";

const ZERO_ID = "00000000-0000-4000-8000-000000000000";

/**
 * A task context for calling a handler directly: follow-up sends, progress updates and log lines are
 * recorded (`sent`, `progressUpdates`, `logs`), nothing is published. Prefer `runTask`, which also parses the
 * arguments through the contract and judges the result as the worker does; this is for a handler test that
 * passes already-parsed input. `overrides` replace any field (e.g. `attempt: 2`, an aborted `signal`).
 */
export function testTaskContext(overrides: Partial<TaskContext> = {}): TaskContext & Recording {
  const recording = newRecording(overrides.rootId ?? ZERO_ID);
  const context: TaskContext = {
    taskId: ZERO_ID,
    name: "test",
    attempt: 1,
    retries: 0,
    parentId: null,
    rootId: ZERO_ID,
    logger: recording.logger,
    signal: new AbortController().signal,
    progress: async (update) => {
      recording.progressUpdates.push(update);
    },
    send: async (contract, args, kwargs, options) => recording.record(contract, args, kwargs, options),
    ...overrides,
  };
  return Object.assign(context, {
    sent: recording.sent,
    progressUpdates: recording.progressUpdates,
    logs: recording.logs,
  });
}
