import type { TaskContext } from "@worker-toolbox/runtime";
import { pino } from "pino";

/** A task context for unit tests of handlers: silent logger, no broker, follow-up sends recorded. */
export function testTaskContext(overrides: Partial<TaskContext> = {}) {
  const sent: { name: string; args: unknown; kwargs: unknown }[] = [];
  const context: TaskContext = {
    taskId: "00000000-0000-4000-8000-000000000000",
    name: "test",
    attempt: 1,
    retries: 0,
    parentId: null,
    rootId: "00000000-0000-4000-8000-000000000000",
    logger: pino({ level: "silent" }),
    signal: new AbortController().signal,
    progress: async () => {},
    send: async (contract, args, kwargs) => {
      sent.push({ name: contract.name, args, kwargs });
      const id = `00000000-0000-4000-8000-${String(sent.length).padStart(12, "0")}`;
      return { id, name: contract.name, rootId: "00000000-0000-4000-8000-000000000000" };
    },
    ...overrides,
  };
  return Object.assign(context, { sent });
}
