import {
  type AnyTaskContract,
  entityNames,
  parseConfig,
  type TaskArgs,
  type TaskKwargs,
  type TaskResult,
  type ToolboxConfig,
  ToolboxError,
  validateCall,
} from "@worker-toolbox/config";
import type { TaskImplementation } from "@worker-toolbox/runtime";
import {
  type Admission,
  type ArrivedMessage,
  type InProcessEnv,
  retryPolicyFor,
  runDelivery,
  taskMessageFor,
  type Verdict,
} from "@worker-toolbox/runtime/inprocess";
import { newRecording, type Recording } from "./recording.js";

export interface TaskCall<C extends AnyTaskContract> {
  /** As a producer would send them (unparsed): the contract parses them as the worker does. */
  args?: TaskArgs<C>;
  kwargs?: TaskKwargs<C>;
}

export interface RunTaskOptions {
  /** The config whose retry policy applies (default: test mode's). Production mode is refused. */
  config?: ToolboxConfig;
  /** Which attempt to run: 1 (default) is the first, 2 the first retry (`ctx.attempt`, the `retries` header). */
  attempt?: number;
  /** Where the fake clock starts (default now): `eta`, `countdownMs`, `expires` and retries count on it. */
  now?: number | Date;
  /** Also run the retries, on the fake clock (no real waiting), until the task succeeds or fails for good. */
  followRetries?: boolean;
  /** The message's scheduling, as `producer.send` takes it. */
  countdownMs?: number;
  eta?: Date;
  expires?: Date | number;
  /** The task id (default a new UUID). */
  id?: string;
  /** Random numbers for the backoff's jitter (default Math.random). */
  random?: () => number;
}

export type RunState = "SUCCESS" | "RETRY" | "FAILURE" | "REVOKED" | "SKIPPED";

/** How one attempt ended. */
export interface Attempt {
  attempt: number;
  state: RunState;
  error: Error | undefined;
  /** RETRY: the delay before the next attempt (the policy's backoff or RetryableError's delayMs). */
  retryInMs: number | undefined;
}

/** What running a task came to, as the worker would settle it, and what the handler did meanwhile. */
export interface TaskRun<C extends AnyTaskContract> extends Recording, Attempt {
  taskId: string;
  /** SUCCESS: the value the contract's result schema returned (what is stored). */
  value: TaskResult<C> | undefined;
  /**
   * FAILURE: why the worker would dead-letter the message: `invalid-arguments` (the handler never ran),
   * `invalid-result`, `permanent-error`, `retries-exhausted`.
   */
  reason: string | undefined;
  /** Every attempt run (one unless `followRetries`). */
  attempts: Attempt[];
  /** How far the fake clock moved: an eta waited for, retry backoffs followed. */
  waitedMs: number;
}

/**
 * Run a task's implementation on one call as a worker would: the call is encoded as the message a producer
 * sends, then the worker's own admit (argument parsing and defaults, eta, expiry), execute (the handler
 * with its context) and judge (result validation, the retry policy) decide. Nothing is published or
 * stored: follow-up sends, progress updates and log lines are recorded in the returned run.
 */
export async function runTask<C extends AnyTaskContract>(
  implementation: TaskImplementation<C>,
  call: TaskCall<C> = {},
  options: RunTaskOptions = {},
): Promise<TaskRun<C>> {
  const config = options.config ?? parseConfig({ mode: "test", logLevel: "silent" });
  if (config.mode === "production") {
    throw new ToolboxError("IN_PROCESS_REFUSED", "runTask refuses a production-mode config.", {
      hint: "pass a development or test config (or none) to runTask",
    });
  }
  const contract = implementation.contract;
  const start = options.now instanceof Date ? options.now.getTime() : (options.now ?? Date.now());
  let clock = start;
  const message = (retries: number) =>
    taskMessageFor(contract, call.args ?? [], call.kwargs ?? {}, { ...options, retries, now: start });
  const first = message((options.attempt ?? 1) - 1);
  const taskId = String(first.properties.headers?.id);
  const recording = newRecording(String(first.properties.headers?.root_id ?? taskId));
  const env = kitEnv(config, implementation, recording, () => clock, options.random);

  const attempts: Attempt[] = [];
  let arrived: ArrivedMessage = first;
  for (;;) {
    const verdict = await runDelivery(arrived, env);
    if (verdict.kind === "delay") {
      clock += verdict.delayMs;
      continue;
    }
    const ended = ending(verdict);
    attempts.push(ended.attempt);
    if (ended.attempt.state !== "RETRY" || !options.followRetries) {
      return {
        sent: recording.sent,
        progressUpdates: recording.progressUpdates,
        logs: recording.logs,
        ...ended.attempt,
        taskId,
        value: ended.value as TaskResult<C> | undefined,
        reason: ended.reason,
        attempts,
        waitedMs: clock - start,
      };
    }
    clock += ended.attempt.retryInMs ?? 0;
    arrived = message(ended.attempt.attempt);
  }
}

function ending(verdict: Exclude<Admission | Verdict, { kind: "delay" }>): {
  attempt: Attempt;
  value?: unknown;
  reason?: string;
} {
  const attempt = ("task" in verdict && verdict.task ? verdict.task.retries : 0) + 1;
  const base = { attempt, error: undefined, retryInMs: undefined };
  switch (verdict.kind) {
    case "done":
      if (verdict.tally === "revoked") return { attempt: { ...base, state: "REVOKED" } };
      if (verdict.tally === "succeeded")
        return { attempt: { ...base, state: "SUCCESS" }, value: verdict.value };
      return { attempt: { ...base, state: "SKIPPED" } };
    case "retry":
      return { attempt: { ...base, state: "RETRY", error: verdict.error, retryInMs: verdict.delayMs } };
    case "dead-letter":
      return { attempt: { ...base, state: "FAILURE", error: verdict.error }, reason: verdict.reason };
    default:
      throw new Error(`runTask: unexpected ${verdict.kind}`);
  }
}

/** The worker's environment for one task, with a recording in place of the broker and the database. */
function kitEnv(
  config: ToolboxConfig,
  implementation: TaskImplementation,
  recording: ReturnType<typeof newRecording>,
  now: () => number,
  random: (() => number) | undefined,
): InProcessEnv {
  const names = entityNames(config.environment.prefix);
  const policy = retryPolicyFor(config, implementation.contract);
  return {
    queueOf: names.serviceQueue,
    delayQueuePrefix: `${names.delayExchange}.`,
    maxMessageBytes: config.limits.maxMessageBytes,
    implementation: (name) => (name === implementation.contract.name ? implementation : undefined),
    policy: () => policy,
    hasSucceeded: async () => false,
    services: (queue) => ({
      logger: recording.logger,
      queue,
      progress: async (row) => {
        if (row.state !== "PROGRESS") return;
        const { done, total, note } = row.meta as { done: number; total: number | null; note: string | null };
        recording.progressUpdates.push({
          done,
          ...(total === null ? {} : { total }),
          ...(note === null ? {} : { note }),
        });
      },
      send: async (_parent, contract, args, kwargs, options) => {
        // As the worker's ctx.send: a call that breaks the contract throws in the handler.
        validateCall(contract, args, kwargs ?? {});
        return recording.record(contract, args, kwargs, options);
      },
    }),
    now,
    ...(random ? { random } : {}),
  };
}
