import { entityNames, type ToolboxConfig, ToolboxError } from "@worker-toolbox/config";
import type { Logger } from "pino";
import type { PublishRequest } from "../broker/confirmPublisher.js";
import { withCanvasBuiltins } from "../canvas/chordUnlockTask.js";
import { planFollowUps, type WorkerFollowUpOptions } from "../canvas/workerFollowUps.js";
import { isRowError } from "../consumer/transient.js";
import type { Admission, ArrivedMessage } from "../delivery/admit.js";
import { followUpSender } from "../delivery/handlerContext.js";
import { contractRates, type RateLimits } from "../delivery/rateLimits.js";
import { publishRetry } from "../delivery/republish.js";
import { type RowWriter, storeQuietly } from "../delivery/settle.js";
import { type DeadLetter, deadLetter, type Verdict } from "../delivery/verdict.js";
import type { SendTarget } from "../producer/prepareSend.js";
import type { DeadLetterReason } from "../protocol/envelope.js";
import type { StoredResult } from "../results/readResults.js";
import type { ResultStore } from "../results/resultStore.js";
import type { TaskImplementation } from "../worker/implementTask.js";
import { taskRegistry, tracksStarted } from "../worker/taskRegistry.js";
import type { ResultReader } from "./resultReader.js";
import { type InProcessEnv, runDelivery } from "./runDelivery.js";
import type { Timeline } from "./timeline.js";

/** A message the in-process worker dead-lettered: what a worker would publish to the dead-letter queue. */
export interface InProcessDeadLetter {
  reason: DeadLetterReason;
  error: Error;
  taskId: string | undefined;
  task: string | undefined;
  attempts: number;
}

/** Where the in-process runner stores rows: the memory store or the PostgreSQL result store. */
export type RowSink = Pick<ResultStore, "writeMany" | "hasSucceeded">;

export interface InProcessSettleOptions {
  config: ToolboxConfig;
  logger: Logger;
  tasks: readonly TaskImplementation[];
  rows: RowSink;
  reader: ResultReader;
  timeline: Timeline;
  target: () => SendTarget;
  deadLetters: InProcessDeadLetter[];
  random: (() => number) | undefined;
  maxDeliveries: number;
}

/**
 * Runs the in-process queue and carries out each verdict in memory — what settle.ts does with the broker:
 * rows stored (the verdict's own row), a retry sent again as the worker's retry message (publishRetry's,
 * due after the backoff), a message not yet due put back until its eta, a dead letter kept in
 * `deadLetters` with its FAILURE row, and the canvas's follow-ups queued.
 */
export class InProcessSettle {
  private readonly env: InProcessEnv;
  private readonly rowWriter: RowWriter;
  /** The canvas's follow-ups, as a worker's settle publishes them (canvas/workerFollowUps.ts). */
  private readonly followUps: WorkerFollowUpOptions;
  /** The contracts' rate limits, and the messages put back until the turn they booked. */
  private readonly rates: RateLimits;
  private readonly booked = new WeakSet<ArrivedMessage>();

  constructor(private readonly options: InProcessSettleOptions) {
    const { config, logger, rows, timeline } = options;
    const names = entityNames(config.environment.prefix);
    const registry = taskRegistry(config, options.tasks, { anyService: true });
    this.rates = contractRates(options.tasks.map((impl) => impl.contract));
    // Celery's builtins as a worker runs them; chord_unlock polls the header's rows through the app's reader.
    const implementation = withCanvasBuiltins(registry, (ids) => storedResults(options.reader, ids));
    this.rowWriter = { add: (row) => rows.writeMany([row]) };
    this.followUps = { target: options.target, rows: this.rowWriter, logger };
    const publisher = { publish: async (request: PublishRequest) => this.enqueue(request) };
    this.env = {
      queueOf: names.serviceQueue,
      delayQueuePrefix: `${names.delayExchange}.`,
      maxMessageBytes: config.limits.maxMessageBytes,
      implementation,
      policy: (impl) => registry.policy(impl),
      trackStarted: (impl) => tracksStarted(config, impl),
      hasSucceeded: (taskId, generation) => rows.hasSucceeded(taskId, generation),
      services: (queue) => ({
        logger,
        queue,
        progress: (row) => storeQuietly(this.rowWriter, logger, row),
        send: followUpSender(publisher, options.target),
      }),
      now: () => timeline.now(),
      turn: (message, task) => this.turn(message, task),
      ...(options.random ? { random: options.random } : {}),
    };
  }

  /** Run what is queued, in due order, until nothing is left. */
  async drain(): Promise<void> {
    let deliveries = 0;
    for (;;) {
      const message = await this.options.timeline.next();
      if (!message) return;
      if (++deliveries > this.options.maxDeliveries) {
        throw new ToolboxError(
          "IN_PROCESS_LOOP",
          `The in-process runner stopped after ${this.options.maxDeliveries} deliveries without the queue emptying.`,
          { hint: "a task that keeps sending itself, or raise maxDeliveries in createInProcessProducer" },
        );
      }
      await this.deliver(message);
    }
  }

  private async deliver(message: ArrivedMessage): Promise<void> {
    const verdict = await runDelivery(message, this.env);
    await this.settle(message, verdict);
  }

  private async settle(message: ArrivedMessage, verdict: Admission | Verdict): Promise<void> {
    const { timeline, logger } = this.options;
    switch (verdict.kind) {
      case "done":
        if (verdict.row) {
          try {
            await this.rowWriter.add(verdict.row);
          } catch (error) {
            if (!isRowError(error)) throw error;
            const attempts = verdict.task ? verdict.task.retries + 1 : 0;
            return this.settle(
              message,
              deadLetter("unstorable-result", error as Error, attempts, verdict.ref, verdict.task),
            );
          }
        }
        for (const request of await planFollowUps(this.followUps, verdict)) this.enqueue(request);
        return;
      case "retry": {
        if (verdict.row) await storeQuietly(this.rowWriter, logger, verdict.row);
        const target = { config: this.options.config, publisher: this.publisher(), exchange: "" };
        await publishRetry(target, verdict.task, verdict.delayMs, timeline.now());
        return;
      }
      case "delay":
        timeline.add(message, timeline.now() + verdict.delayMs);
        return;
      case "dead-letter":
        return this.deadLetter(verdict);
      case "run":
      case "give-back":
        throw new Error(`in-process settle: unexpected ${verdict.kind}`);
    }
  }

  private async deadLetter(letter: DeadLetter): Promise<void> {
    const { logger, deadLetters } = this.options;
    logger.error(
      {
        reason: letter.reason,
        taskId: letter.row?.taskId,
        task: letter.row?.name,
        err: letter.error.message,
      },
      "dead-lettering task message (in-process)",
    );
    deadLetters.push({
      reason: letter.reason,
      error: letter.error,
      taskId: letter.row?.taskId,
      task: letter.row?.name,
      attempts: letter.attempts,
    });
    if (letter.row) await storeQuietly(this.rowWriter, logger, letter.row);
    for (const request of await planFollowUps(this.followUps, letter)) this.enqueue(request);
  }

  /**
   * The worker's rate limit on the timeline: a task over its rate books the next turn of its type and is put
   * back until then (a "delay" verdict), so other task types run meanwhile; back at its turn it runs. With
   * `delays: "skip"` the clock skips to the turn, with `"real"` it waits, as for a retry's backoff.
   */
  private turn(message: ArrivedMessage, task: string): number {
    if (this.booked.delete(message)) return 0;
    const wait = this.rates.reserve(task, this.options.timeline.now());
    if (wait > 0) this.booked.add(message);
    return wait;
  }

  /** A publisher whose messages come back into this queue (the retry's delay rung is the timeline). */
  private publisher() {
    return { publish: async (request: PublishRequest) => this.enqueue(request) };
  }

  private enqueue(request: PublishRequest): void {
    this.options.timeline.add({ content: request.content, properties: request.properties ?? {} });
  }
}

/** The stored results of `ids` read one by one through the reader (an id without a row is left out). */
async function storedResults(
  reader: ResultReader,
  ids: readonly string[],
): Promise<Map<string, StoredResult>> {
  const found = new Map<string, StoredResult>();
  for (const id of ids) {
    const stored = (await reader.getTask(id)).result;
    if (stored) found.set(id, stored);
  }
  return found;
}
