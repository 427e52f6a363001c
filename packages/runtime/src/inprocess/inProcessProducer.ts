import { EventEmitter } from "node:events";
import { hostname } from "node:os";
import {
  type AnyTaskContract,
  entityNames,
  type TaskArgs,
  type TaskKwargs,
  type ToolboxConfig,
  ToolboxError,
} from "@worker-toolbox/config";
import type { Pool } from "pg";
import type { Logger } from "pino";
import type { PublishRequest } from "../broker/confirmPublisher.js";
import { contractsOf } from "../canvas/planCanvas.js";
import type { Canvas, CanvasReceipt } from "../canvas/workflows.js";
import { createLogger } from "../logging/createLogger.js";
import { prepareCanvas, prepareSend, type SendTarget } from "../producer/prepareSend.js";
import type {
  CanvasSendOptions,
  Producer,
  ProducerEvents,
  SendOptions,
  SendReceipt,
  TaskCall,
} from "../producer/types.js";
import { createResultStore } from "../results/resultStore.js";
import type { TaskImplementation } from "../worker/implementTask.js";
import { MemoryResults } from "./memoryResults.js";
import { databaseResults, type ResultReader } from "./resultReader.js";
import { type InProcessDeadLetter, InProcessSettle, type RowSink } from "./settleInProcess.js";

export type { InProcessDeadLetter };

import { type DelayMode, Timeline } from "./timeline.js";

export interface InProcessOptions {
  /** Anything but production mode: production refuses the in-process runner (IN_PROCESS_REFUSED). */
  config: ToolboxConfig;
  /** The handlers to run, as a worker gets them (implementTask); tasks of several services may be mixed. */
  tasks: readonly TaskImplementation[];
  /**
   * Contracts this producer may send without a handler here. Their messages are dead-lettered as
   * `unknown-task`, as a worker that does not run them would (the application's test then sees it).
   */
  contracts?: readonly AnyTaskContract[];
  /**
   * Where results go: in memory (default), or the result tables on PostgreSQL (`{ pool }`, tables in
   * `config.database.schema`, migrated), read back with the same `getTask` / `getFamily` as from workers.
   */
  results?: "memory" | { pool: Pool; schema?: string };
  /** `skip` (default): retries, etas and countdowns run at once on a skipped-ahead clock. `real`: wait. */
  delays?: DelayMode;
  logger?: Logger;
  /** Random numbers for the retry backoff's jitter (default Math.random). */
  random?: () => number;
  /** Stop (and reject) after this many deliveries without the queue emptying: a loop. Default 10,000. */
  maxDeliveries?: number;
}

/**
 * A producer that runs the tasks it sends in this process (Celery's `task_always_eager`, kept honest): the
 * same Producer API, the message built and checked as for the broker, then admitted, run, judged and
 * settled by the worker's own decisions (runDelivery.ts) — argument parsing and defaults, result
 * validation, retries with the policy's backoff, follow-up sends, canvas steps, progress rows.
 */
export interface InProcessProducer extends Producer {
  readonly mode: "in-process";
  /** The results it stored, through the read API applications use. */
  readonly results: ResultReader;
  readonly deadLetters: readonly InProcessDeadLetter[];
  /** Milliseconds the clock skipped (retry backoffs, etas) so far. */
  readonly skippedMs: number;
  /** Resolves once every queued message ran, follow-ups and retries included; rejects with what broke. */
  idle(): Promise<void>;
}

/** The in-process runner, switched on explicitly; refused in production mode with IN_PROCESS_REFUSED. */
export function createInProcessProducer(options: InProcessOptions): InProcessProducer {
  if (options.config.mode === "production") {
    throw new ToolboxError(
      "IN_PROCESS_REFUSED",
      "The in-process runner refuses production mode: tasks sent there must reach the broker and a worker.",
      {
        hint: "use createProducer in production; createInProcessProducer is for development and tests (WT_MODE=development or test)",
      },
    );
  }
  return new InProcess(options);
}

class InProcess extends EventEmitter<ProducerEvents> implements InProcessProducer {
  readonly mode = "in-process";
  readonly results: ResultReader;
  readonly deadLetters: InProcessDeadLetter[] = [];
  readonly lastError = undefined;
  /** No broker: no node in use. */
  readonly node = undefined;
  private readonly contracts = new Map<string, AnyTaskContract>();
  private readonly timeline: Timeline;
  private readonly settle: InProcessSettle;
  private readonly target: () => SendTarget;
  private draining: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: InProcessOptions) {
    super();
    const { config } = options;
    const logger = options.logger ?? createLogger(config);
    for (const contract of [...options.tasks.map((impl) => impl.contract), ...(options.contracts ?? [])])
      this.contracts.set(contract.name, contract);
    const workerName = `${config.service ?? "app"}-in-process@${hostname()}`;
    const { rows, reader } = resultsOf(options.results ?? "memory", config, workerName);
    this.results = reader;
    this.timeline = new Timeline(options.delays ?? "skip");
    const names = entityNames(config.environment.prefix);
    const maxBytes = config.limits.maxMessageBytes;
    this.target = () => ({ exchange: names.exchange, maxBytes, now: this.timeline.now() });
    this.settle = new InProcessSettle({
      config,
      logger,
      tasks: options.tasks,
      rows,
      reader,
      timeline: this.timeline,
      target: this.target,
      deadLetters: this.deadLetters,
      random: options.random,
      maxDeliveries: options.maxDeliveries ?? 10_000,
    });
  }

  get available(): boolean {
    return !this.closed;
  }

  get state() {
    return this.closed ? ("closed" as const) : ("available" as const);
  }

  get skippedMs(): number {
    return this.timeline.skippedMs;
  }

  async send<C extends AnyTaskContract>(
    contract: C,
    args: TaskArgs<C>,
    kwargs?: TaskKwargs<C>,
    options: SendOptions = {},
  ): Promise<SendReceipt> {
    this.refuse(contract);
    const prepared = prepareSend(contract, args, kwargs, options, this.target());
    this.enqueue(prepared.request);
    await this.idle();
    return prepared.receipt;
  }

  async sendMany<C extends AnyTaskContract>(
    contract: C,
    calls: Iterable<TaskCall<C>>,
  ): Promise<PromiseSettledResult<SendReceipt>[]> {
    this.refuse(contract);
    const outcomes: PromiseSettledResult<SendReceipt>[] = [];
    for (const call of calls) {
      try {
        const prepared = prepareSend(contract, call.args, call.kwargs, call.options ?? {}, this.target());
        this.enqueue(prepared.request);
        outcomes.push({ status: "fulfilled", value: prepared.receipt });
      } catch (error) {
        outcomes.push({ status: "rejected", reason: error });
      }
    }
    await this.idle();
    return outcomes;
  }

  sendByName(
    name: string,
    args: readonly unknown[],
    kwargs?: Record<string, unknown>,
    options?: SendOptions,
  ): Promise<SendReceipt> {
    const contract = this.contracts.get(name);
    if (!contract) return Promise.reject(unknownTask(name));
    return this.send(contract, args as never, kwargs as never, options);
  }

  async apply(canvas: Canvas, options: CanvasSendOptions = {}): Promise<CanvasReceipt & { rootId: string }> {
    for (const contract of contractsOf(canvas)) this.refuse(contract);
    const { prepared, receipt } = prepareCanvas(canvas, options, this.target());
    for (const send of prepared) this.enqueue(send.request);
    await this.idle();
    return receipt;
  }

  idle(): Promise<void> {
    this.draining ??= this.settle.drain().finally(() => {
      this.draining = undefined;
    });
    return this.draining;
  }

  async ready(): Promise<void> {
    if (this.closed) throw closedError();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.idle().catch(() => {});
    this.closed = true;
    this.emit("state", "closed", undefined);
  }

  private enqueue(request: PublishRequest): void {
    this.timeline.add({ content: request.content, properties: request.properties ?? {} });
  }

  private refuse(contract: AnyTaskContract): void {
    if (this.closed) throw closedError();
    if (this.contracts.get(contract.name) !== contract) throw unknownTask(contract.name);
  }
}

function resultsOf(
  results: NonNullable<InProcessOptions["results"]>,
  config: ToolboxConfig,
  workerName: string,
): { rows: RowSink; reader: ResultReader } {
  if (results === "memory") {
    const memory = new MemoryResults(workerName);
    return { rows: memory, reader: memory };
  }
  const schema = results.schema ?? config.database.schema;
  return {
    rows: createResultStore({ pool: results.pool, schema, workerName }),
    reader: databaseResults(results.pool, schema),
  };
}

function unknownTask(name: string): ToolboxError {
  return new ToolboxError("TASK_UNKNOWN", `Task ${name} has no contract in this in-process producer.`, {
    hint: "pass its implementation in createInProcessProducer({ tasks }), or its contract in { contracts }",
  });
}

function closedError(): ToolboxError {
  return new ToolboxError("CLOSED", "This in-process producer was closed.", {
    hint: "create a new one with createInProcessProducer",
  });
}
