import { EventEmitter } from "node:events";
import { entityNames, planTopology, type ToolboxConfig, ToolboxError } from "@worker-toolbox/config";
import type { ChannelModel } from "amqplib";
import type pg from "pg";
import { type Logger, pino } from "pino";
import type { Registry } from "prom-client";
import { ConfirmPublisher } from "../broker/confirmPublisher.js";
import { BrokerConnection } from "../broker/connection.js";
import type { BatchWriter } from "../consumer/batchWriter.js";
import { ByteWindow } from "../consumer/byteWindow.js";
import type { DeliveryPipeline } from "../delivery/pipeline.js";
import { contractRates } from "../delivery/rateLimits.js";
import { newWorkerStats } from "../delivery/settle.js";
import { Slots } from "../delivery/slots.js";
import { databaseAnswerWithin } from "../health/databaseProbe.js";
import { type HealthServer, startHealthServer } from "../health/startHealthServer.js";
import { createDatabasePool } from "../results/pool.js";
import { guardPool } from "../results/poolErrors.js";
import { getResults } from "../results/readResults.js";
import type { ResultStore } from "../results/resultStore.js";
import type { TaskOutcome, WriteSummary } from "../results/resultTypes.js";
import { applyTopology, applyWorkerQueues } from "../topology/applyTopology.js";
import { CeleryPresence } from "./celeryPresence.js";
import { watchDeadLetters } from "./deadLetterWatch.js";
import { WorkerMetrics } from "./metrics.js";
import { QueueConsumer } from "./queueConsumer.js";
import { RevokedSet, revokeTask } from "./revocations.js";
import { logWorkerState } from "./stateLog.js";
import { TaskQueues } from "./taskQueues.js";
import { taskRegistry } from "./taskRegistry.js";
import { nodeNameFor } from "./workerNode.js";
import { resultWriter, storeWriteCheck, workerLogger, workerResultStore } from "./workerParts.js";
import { workerPipeline } from "./workerPipeline.js";
import type { Worker, WorkerEvents, WorkerOptions, WorkerState } from "./workerTypes.js";

export type { Worker, WorkerOptions, WorkerState } from "./workerTypes.js";

export function createWorker(options: WorkerOptions): Worker {
  return new TaskWorker(options);
}

/**
 * The worker: owns its connections (broker, database pool, health endpoint) and its state; every delivery
 * goes through the delivery pipeline (delivery/pipeline.ts), which alone settles messages.
 */
class TaskWorker extends EventEmitter<WorkerEvents> implements Worker {
  state: WorkerState = "starting";
  lastError: ToolboxError | undefined;
  readonly metrics: Registry;
  readonly nodeName: string;
  healthServer: HealthServer | undefined;

  private readonly config: ToolboxConfig;
  private readonly taskMetrics: WorkerMetrics;
  private readonly service: string;
  private readonly logger: Logger;
  private readonly pool: pg.Pool;
  private readonly ownsPool: boolean;
  private readonly store: ResultStore;
  private readonly batcher: BatchWriter<TaskOutcome, WriteSummary>;
  private readonly publisher: ConfirmPublisher;
  private readonly connection: BrokerConnection;
  private readonly pipeline: DeliveryPipeline;
  private readonly revoked = new RevokedSet();
  private readonly counts = newWorkerStats();
  /** The service queue's consumer (none while stopped by remote control's `cancel_consumer`). */
  private consumer: QueueConsumer | undefined;
  /** Which queues the worker consumes: its service's, and those remote control adds. */
  private readonly queues: TaskQueues;
  /** The bytes of the messages held (worker.maxInFlightBytes), across reconnects. */
  private readonly window: ByteWindow;
  private started: Promise<void> | undefined;
  /** Ready once: a later failure has no start() caller to report it. */
  private wasReady = false;
  private closing: Promise<void> | undefined;
  /** Fired when shutdown's deadline passed: durable retries of writes and publishes stop. */
  private readonly hardStop = new AbortController();
  private health: Promise<void> | undefined;
  /** Remote control and Celery events (config.worker.events). */
  private readonly presence: CeleryPresence;

  constructor(options: WorkerOptions) {
    super();
    const config = options.config;
    const tasks = taskRegistry(config, options.tasks);
    const service = config.service!;
    // A Celery node name (`name@host`), one per process: in result rows, dead letters, events and `inspect`.
    const workerName = nodeNameFor(service);
    this.nodeName = workerName;
    this.config = config;
    this.service = service;
    this.logger = workerLogger(options.logger ?? pino({ level: config.logLevel }), service);
    this.ownsPool = !options.pool;
    this.pool = options.pool ?? createDatabasePool(config, { logger: this.logger });
    if (options.pool) guardPool(this.pool, this.logger);
    this.store = workerResultStore(config, this.pool, workerName);
    const metrics = new WorkerMetrics({
      service,
      taskNames: tasks.names,
      registry: options.registry,
      processMetrics: options.processMetrics,
      sample: () => ({
        running: this.pipeline.size,
        pendingResults: this.batcher.pending,
        consumerActive: this.consumer !== undefined && this.state === "ready",
        broker: this.connection.state,
      }),
    });
    this.metrics = metrics.registry;
    this.taskMetrics = metrics;
    this.batcher = resultWriter(config, metrics.timedStore(this.store), this.logger);
    this.window = new ByteWindow({
      maxBytes: config.worker.maxInFlightBytes,
      maxPrefetch: config.worker.prefetch,
      largestMessage: config.limits.maxMessageBytes,
    });
    this.publisher = new ConfirmPublisher({
      logger: this.logger,
      deadlineMs: config.producer.publishTimeoutMs,
      name: `worker:${service}`,
    });
    // Handler slots and rate limits: remote control changes them while the worker runs.
    const slots = new Slots(config.worker.concurrency);
    const rates = contractRates(tasks.names.flatMap((name) => tasks.get(name)?.contract ?? []));
    this.queues = this.taskQueues();
    this.presence = new CeleryPresence({
      config,
      service,
      nodeName: workerName,
      taskNames: tasks.names,
      logger: this.logger,
      revoked: this.revoked,
      abort: (taskId, reason) => this.pipeline.abort(taskId, reason),
      stats: () => this.stats,
      brokerNode: () => this.brokerNode,
      slots,
      rates,
      setTimeLimits: (task, limits) => tasks.setTimeLimits(task, limits),
      shutdown: (reason) => this.remoteShutdown(reason),
      queues: this.queues,
    });
    this.pipeline = workerPipeline({
      config,
      service,
      workerName,
      logger: this.logger,
      tasks,
      revoked: this.revoked,
      publisher: this.publisher,
      rows: this.batcher,
      store: this.store,
      readResults: (ids) => getResults(this.pool, config.database.schema, ids),
      stats: this.counts,
      metrics,
      observer: this.presence.observer,
      slots,
      rates,
    });
    this.connection = new BrokerConnection({
      config,
      logger: this.logger,
      name: `worker:${workerName}`,
      setup: (conn) => this.setup(conn),
      failureReport: "owner",
    });
    this.connection.on("state", (state, error) => {
      if (state === "recovering" && this.state === "ready") this.setState("recovering", error);
      else if (state === "failed") this.setState("failed", error);
    });
  }

  /** The queues it consumes: the service queue through `subscribe`, and those remote control adds. */
  private taskQueues(): TaskQueues {
    return new TaskQueues({
      config: this.config,
      service: this.service,
      logger: this.logger,
      receive: (acks, message) => this.pipeline.receive(acks, message),
      stop: this.hardStop.signal,
      timedOut: () => this.taskMetrics.consumerTimedOut(),
      serviceQueue: {
        start: (conn) => this.subscribe(conn),
        stop: async () => {
          const consumer = this.consumer;
          this.consumer = undefined;
          await consumer?.retire();
        },
      },
    });
  }

  get stats() {
    const c = this.counts;
    // Written out, not `...this.counts`: a spread followed by more properties costs µs on Node 20, and
    // callers poll this (the bench every millisecond).
    return {
      succeeded: c.succeeded,
      failed: c.failed,
      retried: c.retried,
      deadLettered: c.deadLettered,
      revoked: c.revoked,
      delayed: c.delayed,
      skipped: c.skipped,
      requeued: c.requeued,
      running: this.pipeline.size,
      pendingResults: this.batcher.pending,
      heldBytes: this.window.held,
      peakHeldBytes: this.window.peak,
    };
  }

  ready(): boolean {
    return this.state === "ready";
  }

  /** The broker node this worker consumes from (the last one while reconnecting), password masked. */
  get brokerNode(): string | undefined {
    return this.connection.node;
  }

  pingDatabase(timeoutMs = 1_000): Promise<void> {
    return databaseAnswerWithin(this.store.checkWrites(), timeoutMs);
  }

  start(): Promise<void> {
    this.started ??= this.openHealthServer()
      .then(() => this.checkStore())
      .then(() => this.connect());
    return this.started;
  }

  /** The start fails, with the fix, when the result store refuses this worker's writes (storeWriteCheck). */
  private async checkStore(): Promise<void> {
    const refused = await storeWriteCheck(this.store, this.logger);
    if (!refused) return;
    this.setState("failed", refused);
    throw refused;
  }

  /** The health endpoint comes up first, so probes see "starting" rather than a refused connection. */
  private openHealthServer(): Promise<void> {
    const port = this.config.worker.healthPort;
    if (port === undefined) return Promise.resolve();
    const host = this.config.worker.healthHost;
    this.health ??= startHealthServer({ worker: this, port, host, logger: this.logger }).then((server) => {
      this.healthServer = server;
    });
    return this.health;
  }

  private connect(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onState = (state: WorkerState, error: ToolboxError | undefined) => {
        if (state === "ready") resolve();
        else if (state === "failed" || state === "stopped")
          reject(error ?? new ToolboxError("CLOSED", "The worker stopped before it was ready."));
        else return;
        this.off("state", onState);
      };
      this.on("state", onState);
      this.connection.start();
    });
  }

  async revoke(taskId: string | readonly string[], options: { reason?: string } = {}): Promise<void> {
    const taskIds = typeof taskId === "string" ? [taskId] : [...taskId];
    const reason = options.reason ?? "revoked";
    this.presence.revoke(taskIds, { terminate: true, reason });
    await revokeTask({ config: this.config, publisher: this.publisher, store: this.store, taskIds, reason });
  }

  /**
   * Remote control's `shutdown`: `shutdown` listeners (installSignalHandlers: then the process exits) hear it,
   * and the worker stops as on SIGTERM.
   */
  private remoteShutdown(reason: string): void {
    this.emit("shutdown", reason);
    void this.close();
  }

  close(options: { graceMs?: number } = {}): Promise<void> {
    this.closing ??= this.shutdown(options.graceMs ?? this.config.worker.shutdownGraceMs);
    return this.closing;
  }

  /**
   * Refuse new work (cancel the consumer), drain the pipeline (docs in DeliveryPipeline.drain), then stop
   * retrying: whatever is still unsettled is given back, and returns to the queue if even that fails.
   */
  private async shutdown(graceMs: number): Promise<void> {
    this.setState("stopping", undefined);
    await this.queues.close();
    const consumer = this.consumer;
    this.consumer = undefined;
    await consumer?.subscription.cancel().catch(() => undefined);
    const settled = await this.pipeline.drain(graceMs, () => this.batcher.flush());
    if (!settled) {
      this.logger.warn(
        { pendingResults: this.batcher.pending },
        "results not stored in time; their messages will be redelivered",
      );
    }
    this.hardStop.abort();
    this.batcher.abandon();
    await this.presence.close();
    await this.publisher.close(1_000);
    await this.connection.close();
    if (this.ownsPool) await this.pool.end().catch(() => undefined);
    await this.health?.then(() => this.healthServer?.close()).catch(() => undefined);
    this.setState("stopped", undefined);
  }

  private setState(state: WorkerState, error: ToolboxError | undefined): void {
    if (this.state === state) return;
    if ((this.state === "stopped" || this.state === "stopping") && state !== "stopped") return;
    this.state = state;
    this.lastError = error;
    if (state === "ready") this.wasReady = true;
    logWorkerState(this.logger, state, error, this.wasReady);
    this.emit("state", state, error);
  }

  /** Runs after every (re)connect: declare, open the publisher, listen for revocations, subscribe. */
  private async setup(conn: ChannelModel): Promise<void> {
    const plan = planTopology(this.config);
    const declare = await conn.createChannel();
    declare.on("error", () => undefined); // A 406 surfaces from applyTopology as TopologyMismatchError.
    await applyTopology(declare, plan);
    await declare.close();
    await this.publisher.attach(conn);

    // The plan's per-worker queue: this process's remote control (Celery's pidbox, named by its node name).
    await this.presence.attach(conn, async (channel) =>
      (await applyWorkerQueues(channel, plan, this.service, this.nodeName)).get("control"),
    );

    if (this.state === "stopping" || this.state === "stopped") return;
    const names = entityNames(plan.prefix);
    await watchDeadLetters(conn, {
      queue: names.serviceDeadLetterWatchQueue(this.service),
      serviceQueue: names.serviceQueue(this.service),
      rows: this.batcher,
      logger: this.logger,
      stop: this.hardStop.signal,
      revoked: (row) => {
        this.counts.revoked += 1;
        this.taskMetrics.revoked(row.name);
      },
      // The run that crashed its worker on every delivery is a failed run no worker lived to count.
      failed: (row) => {
        this.counts.failed += 1;
        this.taskMetrics.failed(row.name);
        this.presence.finished(row.name);
      },
    });
    await this.queues.attach(conn);
    this.setState("ready", undefined);
  }

  /** Consume the service's queue on a channel of its own (after every connect, and on `add_consumer`). */
  private async subscribe(conn: ChannelModel): Promise<void> {
    const queue = entityNames(this.config.environment.prefix).serviceQueue(this.service);
    const consumer = await QueueConsumer.open(conn, {
      queue,
      window: this.window,
      receive: (acks, message) => this.pipeline.receive(acks, message),
      stop: this.hardStop.signal,
      // Settled messages count against the current subscription's window, whichever channel they came on.
      settled: (bytes) =>
        this.consumer ? this.consumer.subscription.settled(bytes) : this.window.release(bytes),
      cancelled: () => this.onCancelled(conn),
      timedOut: () => this.taskMetrics.consumerTimedOut(),
      logger: this.logger,
    });
    this.consumer = consumer;
    await consumer.start();
    consumer.channel.once("close", () => {
      if (this.consumer !== consumer) return;
      this.consumer = undefined;
      if (this.state !== "ready") return;
      // The broker's consumer_timeout closed it (logged): consume again on a new channel of this connection.
      if (consumer.timedOut !== undefined)
        void this.queues.resumeServiceQueue(conn).catch(() => conn.close().catch(() => undefined));
      // Another channel error with the connection up: recover the whole connection.
      else {
        this.setState("recovering", undefined);
        void conn.close().catch(() => undefined);
      }
    });
  }

  /** basic.cancel from the broker (queue deleted, failed over): reconnect, which re-declares and resubscribes. */
  private onCancelled(conn: ChannelModel): void {
    this.logger.warn("consumer cancelled by the broker; reconnecting");
    this.consumer = undefined;
    this.setState("recovering", undefined);
    void conn.close().catch(() => undefined);
  }
}
