import { EventEmitter } from "node:events";
import {
  type AnyTaskContract,
  brokerUrls,
  contractRegistry,
  entityNames,
  planTopology,
  ToolboxError,
  type TopologyPlan,
} from "@worker-toolbox/config";
import type { ChannelModel } from "amqplib";
import { type Logger, pino } from "pino";
import { ConfirmPublisher } from "../broker/confirmPublisher.js";
import { BrokerConnection, type BrokerState } from "../broker/connection.js";
import { contractsOf } from "../canvas/planCanvas.js";
import type { Canvas, CanvasReceipt } from "../canvas/workflows.js";
import { applyTopology } from "../topology/applyTopology.js";
import { OfflineBuffer } from "./offlineBuffer.js";
import { type PreparedSend, prepareCanvas, prepareSend } from "./prepareSend.js";
import {
  circuitOpenError,
  closedError,
  noConnectionYet,
  notAvailableAfter,
  startTimeout,
  topologyError,
  unknownTask,
  writeBufferStalled,
} from "./producerErrors.js";
import { beforeDeadline, startGrace } from "./startGrace.js";
import { logProducerState, StartWaiters } from "./stateLog.js";
import type {
  CanvasSendOptions,
  Producer,
  ProducerEvents,
  ProducerOptions,
  ProducerState,
  SendOptions,
  SendReceipt,
  TaskCall,
} from "./types.js";

/**
 * How long a new producer's sends wait for the first connection before the breaker opens. A producer
 * whose broker answers gets through its handshake well within this; setup (declaring the topology) may
 * take longer and is waited for, since a broker that runs our setup is clearly reachable.
 */
const START_GRACE_MS = 500;

/** How one send ended: the receipt, or the error (a ToolboxError, or what the contract threw). */
type SendDone = (error: unknown, receipt: SendReceipt | undefined) => void;

/** Create a producer and start connecting in the background; it never throws for an unreachable broker. */
export function createProducer(options: ProducerOptions): Producer {
  return new TaskProducer(options);
}

class TaskProducer extends EventEmitter<ProducerEvents> implements Producer {
  state: ProducerState = "connecting";
  lastError: ToolboxError | undefined;

  private readonly contracts: ReadonlyMap<string, AnyTaskContract>;
  private readonly plan: TopologyPlan;
  private readonly exchange: string;
  private readonly maxBytes: number;
  private readonly deadlineMs: number;
  private readonly logger: Logger;
  private readonly publisher: ConfirmPublisher;
  private readonly connection: BrokerConnection;
  private readonly buffer: OfflineBuffer;
  private readonly bufferSize: number;
  private readonly starting: Promise<void>;
  private startGrace: { cancel(): void } = { cancel: () => {} };
  private endStart: () => void = () => {};
  private closing: Promise<void> | undefined;
  private setupStarted = false;
  private graceOver = false;
  private readonly waiting = new StartWaiters();

  constructor(options: ProducerOptions) {
    super();
    const { config } = options;
    this.contracts = contractRegistry(options.contracts);
    const services = [...new Set(options.contracts.map((contract) => contract.service))];
    this.plan = planTopology(config, services);
    this.exchange = entityNames(config.environment.prefix).exchange;
    this.maxBytes = config.limits.maxMessageBytes;
    this.deadlineMs = config.producer.publishTimeoutMs;
    this.bufferSize = config.producer.offlineBufferSize;
    this.buffer = new OfflineBuffer(this.bufferSize);
    const name = options.name ?? `producer:${process.pid}`;
    this.logger = (options.logger ?? pino({ level: config.logLevel })).child({ component: "producer" });
    this.publisher = new ConfirmPublisher({
      logger: this.logger,
      deadlineMs: this.deadlineMs,
      name,
      maxQueuedBytes: config.producer.maxQueuedBytes,
      // On a cluster a lost node is replaced at once: what was unconfirmed is published again there.
      resend: brokerUrls(config).length > 1 || this.bufferSize > 0,
    });
    this.connection = new BrokerConnection({
      config,
      logger: this.logger,
      name,
      setup: (connection) => this.setup(connection),
      failureReport: "owner",
    });
    this.connection.on("state", (state, error) => this.onConnectionState(state, error));
    this.connection.on("unreachable", (error) => this.onUnreachable(error));
    this.starting = new Promise<void>((resolve) => {
      this.endStart = resolve;
    });
    // Past the start grace without a connection being set up, the producer counts as unavailable (sends
    // fail fast).
    const nodes = this.connection.nodeList.join(", ");
    this.startGrace = startGrace(Math.min(START_GRACE_MS, config.broker.connectTimeoutMs), () => {
      this.graceOver = true;
      if (this.state === "connecting" && !this.setupStarted)
        this.setState("unavailable", noConnectionYet(nodes));
    });
    this.connection.start();
  }

  get available(): boolean {
    return this.state === "available" && this.publisher.ready;
  }

  get node(): string | undefined {
    return this.connection.node;
  }

  send<C extends AnyTaskContract>(
    contract: C,
    args: unknown,
    kwargs?: unknown,
    options: SendOptions = {},
  ): Promise<SendReceipt> {
    const refused = this.refuseUnknown(contract);
    if (refused) return Promise.reject(refused);
    return this.dispatch(contract, args, kwargs, options);
  }

  async sendMany<C extends AnyTaskContract>(
    contract: C,
    calls: Iterable<TaskCall<C>>,
  ): Promise<PromiseSettledResult<SendReceipt>[]> {
    const refused = this.refuseUnknown(contract);
    if (refused) throw refused;
    // One outcome per call, filled in by callbacks: no promise per call (bench/README.md, end to end).
    const outcomes: PromiseSettledResult<SendReceipt>[] = [];
    let unsettled = 1; // the loop itself, until it has taken every call
    let allSettled = () => {};
    const settled = new Promise<void>((resolve) => {
      allSettled = resolve;
    });
    const finish = () => {
      if (--unsettled === 0) allSettled();
    };
    let stalled: ToolboxError | undefined;
    // Right after createProducer: wait for the first connection (within the batch's deadline) before
    // encoding anything, as a single send() does; encoding thousands of calls first would hold the event
    // loop the connection needs to come up.
    if (this.state === "connecting") {
      stalled = await this.waitForStart(contract.name, Date.now() + this.deadlineMs).then(
        () => undefined,
        (error: ToolboxError) => error,
      );
    }
    for (const call of calls) {
      if (!stalled && !this.publisher.writable && !(await this.publisher.whenWritable(this.deadlineMs))) {
        stalled = writeBufferStalled(contract.name, this.deadlineMs);
      }
      const index = outcomes.length;
      outcomes.push(undefined as unknown as PromiseSettledResult<SendReceipt>);
      unsettled++;
      const done: SendDone = (error, receipt) => {
        outcomes[index] = error
          ? { status: "rejected", reason: error }
          : { status: "fulfilled", value: receipt! };
        finish();
      };
      if (stalled) done(stalled, undefined);
      else this.dispatchTo(contract, call.args, call.kwargs, call.options ?? {}, done);
    }
    finish();
    await settled;
    return outcomes;
  }

  async apply(canvas: Canvas, options: CanvasSendOptions = {}): Promise<CanvasReceipt & { rootId: string }> {
    for (const contract of contractsOf(canvas)) {
      const refused = this.refuseUnknown(contract);
      if (refused) throw refused;
    }
    if (this.closing) throw this.refusal();
    const { prepared, receipt } = prepareCanvas(canvas, options, {
      exchange: this.exchange,
      maxBytes: this.maxBytes,
    });
    const deadline = Date.now() + this.deadlineMs;
    await Promise.all(prepared.map((send) => this.publish(send, deadline)));
    return receipt;
  }

  /** Why this producer refuses `contract` (it was not created with it), or undefined. */
  private refuseUnknown(contract: AnyTaskContract): ToolboxError | undefined {
    const known = this.contracts.get(contract.name);
    return known === contract ? undefined : unknownTask(contract.name, known !== undefined);
  }

  sendByName(
    name: string,
    args: readonly unknown[],
    kwargs?: Record<string, unknown>,
    options: SendOptions = {},
  ): Promise<SendReceipt> {
    const contract = this.contracts.get(name);
    if (!contract) return Promise.reject(unknownTask(name, false));
    return this.dispatch(contract, args, kwargs, options);
  }

  async ready(timeoutMs = this.deadlineMs): Promise<void> {
    if (this.available) return;
    if (this.state === "failed" || this.state === "closed") throw this.refusal();
    await this.waiting.ready(
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.off("state", onState);
          reject(this.lastError ?? notAvailableAfter(timeoutMs));
        }, timeoutMs);
        const onState = (state: ProducerState) => {
          if (state === "available") resolve();
          else if (state === "failed" || state === "closed") reject(this.refusal());
          else return;
          clearTimeout(timer);
          this.off("state", onState);
        };
        this.on("state", onState);
      }),
    );
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.startGrace.cancel();
      const closed = new ToolboxError("CLOSED", "The producer is closed; the send was not published.");
      this.buffer.rejectAll(closed);
      this.endStart();
      await this.publisher.close(this.deadlineMs);
      await this.connection.close();
      this.setState("closed", undefined);
    })();
    return this.closing;
  }

  private dispatch(
    contract: AnyTaskContract,
    args: unknown,
    kwargs: unknown,
    options: SendOptions,
  ): Promise<SendReceipt> {
    return new Promise((resolve, reject) =>
      this.dispatchTo(contract, args, kwargs, options, (error, receipt) =>
        error ? reject(error) : resolve(receipt!),
      ),
    );
  }

  /**
   * Validate, encode and publish one call; `done` runs once with the receipt or the error. While the
   * producer is available the publish goes straight to the confirm publisher (no promise of its own);
   * otherwise it takes the path that waits for the first connection or holds it in the offline buffer.
   */
  private dispatchTo(
    contract: AnyTaskContract,
    args: unknown,
    kwargs: unknown,
    options: SendOptions,
    done: SendDone,
  ): void {
    if (this.closing) {
      done(this.refusal(), undefined);
      return;
    }
    let prepared: PreparedSend;
    try {
      prepared = prepareSend(contract, args, kwargs, options, {
        exchange: this.exchange,
        maxBytes: this.maxBytes,
      });
    } catch (error) {
      done(error, undefined);
      return;
    }
    if (this.state === "available") {
      const { receipt } = prepared;
      this.publisher.submit(prepared.request, this.deadlineMs, (error) => done(error, receipt));
      return;
    }
    this.publish(prepared, Date.now() + this.deadlineMs).then(
      (receipt) => done(undefined, receipt),
      (error: unknown) => done(error, undefined),
    );
  }

  private async publish(prepared: PreparedSend, deadline: number): Promise<SendReceipt> {
    if (this.state === "connecting") await this.waitForStart(prepared.request.routingKey, deadline);
    if (this.closing || this.state === "failed" || this.state === "closed") throw this.refusal();
    // Failing over to another node: the send waits with the unconfirmed ones for the next channel.
    if (this.state !== "available" && !this.connection.failingOver) {
      if (this.bufferSize === 0) throw circuitOpenError(prepared.request.routingKey, this.lastError);
      deadline = await this.buffer.hold(prepared.request.routingKey, deadline);
      if (this.closing) throw this.refusal();
    }
    await this.publisher.publish(prepared.request, Math.max(1, deadline - Date.now()));
    return prepared.receipt;
  }

  /** A send made while the first connection is being set up waits for it, within its own deadline. */
  private waitForStart(routingKey: string, deadline: number): Promise<void> {
    return this.waiting.send(beforeDeadline(this.starting, deadline, () => startTimeout(routingKey)));
  }

  /** Runs after every (re)connect, before the connection counts as connected. */
  private async setup(connection: ChannelModel): Promise<void> {
    this.setupStarted = true;
    try {
      // A throwaway channel: a 406 from a drifted entity closes the channel it happened on.
      const channel = await connection.createChannel();
      channel.on("error", () => {});
      try {
        await applyTopology(channel, this.plan);
      } catch (error) {
        throw topologyError(error);
      }
      await channel.close().catch(() => undefined);
      await this.publisher.attach(connection);
    } catch (error) {
      this.setupStarted = false;
      // Past the start grace, a start that got as far as setup and then failed opens the breaker.
      if (this.state === "connecting" && this.graceOver) {
        this.setState("unavailable", error instanceof ToolboxError ? error : undefined);
      }
      throw error;
    }
  }

  private onConnectionState(state: BrokerState, error: ToolboxError | undefined): void {
    switch (state) {
      case "connected":
        this.setState("available", undefined);
        this.buffer.flush();
        break;
      case "recovering":
        this.setState("unavailable", error);
        break;
      case "failed":
        this.setState("failed", error);
        this.buffer.rejectAll(this.refusal());
        break;
      case "closed":
        this.setState("closed", undefined);
        break;
      case "connecting":
        break;
    }
  }

  /**
   * A whole round over the broker nodes failed. Sends that waited for a failover are given up on, unless the
   * producer holds sends while reconnecting (offlineBufferSize): then they wait on, within their deadline.
   */
  private onUnreachable(error: ToolboxError): void {
    if (this.state === "unavailable") this.lastError = error;
    if (this.bufferSize > 0) return;
    this.publisher.failWaiting(
      "PUBLISH_CONNECTION_LOST",
      `no broker node is reachable (${error.message.split("\n")[0]})`,
    );
  }

  private setState(state: ProducerState, error: ToolboxError | undefined): void {
    if (this.state === "closed" || (this.state === "failed" && state !== "closed")) return;
    const changed = state !== this.state;
    this.state = state;
    this.lastError = error;
    if (state !== "connecting") {
      this.startGrace.cancel();
      this.endStart();
    }
    if (changed) {
      logProducerState(this.logger, state, error, this.waiting.told(state, this.bufferSize));
      this.emit("state", state, error);
    }
  }

  private refusal(): ToolboxError {
    return this.state === "failed" && this.lastError ? this.lastError : closedError();
  }
}
