import type { RetryPolicy } from "@worker-toolbox/config";
import { type Admission, type AdmitContext, type ArrivedMessage, admit } from "../delivery/admit.js";
import { execute, TaskAbort } from "../delivery/execute.js";
import { HandlerContext, type HandlerServices } from "../delivery/handlerContext.js";
import { judge } from "../delivery/judge.js";
import type { Verdict } from "../delivery/verdict.js";
import type { TaskImplementation } from "../worker/implementTask.js";

/** What one in-process delivery needs: the worker's lookups, the clock, and what a handler can reach. */
export interface InProcessEnv {
  /** The environment prefix's names: rows name the service queue `<prefix>.<service>`. */
  queueOf(service: string): string;
  delayQueuePrefix: string;
  maxMessageBytes: number;
  implementation(task: string): TaskImplementation | undefined;
  policy(impl: TaskImplementation): RetryPolicy;
  /** Store STARTED before the handler runs (the worker's trackStarted)? */
  trackStarted?(impl: TaskImplementation): boolean;
  /** For `idempotent: true` contracts: is a SUCCESS row of this generation (or a later one) stored? */
  hasSucceeded(taskId: string, generation: number): Promise<boolean>;
  /** The handler's services for a run on `queue` (the worker's own: progress rows, follow-up sends). */
  services(queue: string): HandlerServices;
  now(): number;
  random?: () => number;
  /**
   * Book the run's turn under its task type's rate limit (the contract's `rateLimit`): ms until it may run,
   * 0 for now. Without it, nothing is rate limited (the test kit's runTask runs one task).
   */
  turn?(message: ArrivedMessage, task: string): number;
}

/**
 * One message through the worker's own decisions, in this process: `admit` (decode, the contract's parsing
 * and defaults, eta, expiry), `execute` (the handler with its context, signal and time limits), `judge`
 * (the result's validation, the retry policy). What comes out is the verdict a worker would settle; the
 * caller carries it out in memory (inProcessProducer.ts) or only reports it (the test kit's runTask).
 */
export async function runDelivery(message: ArrivedMessage, env: InProcessEnv): Promise<Admission | Verdict> {
  const admission = admit(message, admitContext(message, env), env.now());
  if (admission.kind !== "run") return admission;
  const { task, ref, impl, input } = admission;
  // As the worker: a task over its rate waits for its turn before it runs (the caller puts it back till then).
  const wait = env.turn?.(message, task.task) ?? 0;
  if (wait > 0) return { kind: "delay", task, delayMs: wait };
  if (impl.contract.idempotent && (await env.hasSucceeded(task.id, ref.generation ?? 0))) {
    return { kind: "done", tally: "skipped", task, ref };
  }
  const services = env.services(ref.queue ?? "");
  // As the worker's pipeline: before the handler runs; a refused row is logged, not fatal.
  if (!task.ignoreResult && env.trackStarted?.(impl)) await services.progress({ ...ref, state: "STARTED" });
  const abort = new TaskAbort();
  const context = new HandlerContext(services, task, abort);
  const execution = await execute(task, impl, input, abort, context);
  return judge(
    { task, ref, impl, execution, revokedReason: undefined, policy: env.policy(impl) },
    env.now(),
    env.random,
  );
}

/** The admit context of the service the message is for, as that service's worker would have it. */
function admitContext(message: ArrivedMessage, env: InProcessEnv): AdmitContext {
  const name = message.properties.headers?.task;
  const impl = typeof name === "string" ? env.implementation(name) : undefined;
  const service = impl?.contract.service ?? ((typeof name === "string" && name.split(".")[0]) || "unknown");
  return {
    service,
    queue: env.queueOf(service),
    delayQueuePrefix: env.delayQueuePrefix,
    maxMessageBytes: env.maxMessageBytes,
    implementation: env.implementation,
    revoked: () => undefined,
  };
}
