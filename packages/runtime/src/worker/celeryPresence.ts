import { constants } from "node:os";
import {
  entityNames,
  pickDelayRung,
  planTopology,
  serviceBindingKey,
  type ToolboxConfig,
} from "@worker-toolbox/config";
import type { ChannelModel } from "amqplib";
import type { Logger } from "pino";
import type { WorkerSettings } from "../control/changeCommands.js";
import { type HeldEntry, HeldTasks } from "../control/heldTasks.js";
import type { ConsumedQueue } from "../control/inspectReplies.js";
import { type ControlTarget, type DeclareControlQueue, RemoteControl } from "../control/remoteControl.js";
import { ScheduledTasks } from "../control/scheduledTasks.js";
import type { DeliveryObserver } from "../delivery/extensions.js";
import type { RateLimits } from "../delivery/rateLimits.js";
import type { WorkerStats } from "../delivery/settle.js";
import type { Slots } from "../delivery/slots.js";
import type { Verdict } from "../delivery/verdict.js";
import { taskEventObserver } from "../events/taskEvents.js";
import type { WorkerEvents } from "../events/workerEvents.js";
import { EventSource } from "../protocol/celeryEvents.js";
import { runtimeVersion } from "../version.js";
import type { RevokedSet } from "./revocations.js";
import type { TaskQueues } from "./taskQueues.js";
import { workerEvents } from "./workerNode.js";

export interface CeleryPresenceParts {
  config: ToolboxConfig;
  service: string;
  nodeName: string;
  taskNames: readonly string[];
  logger: Logger;
  revoked: RevokedSet;
  /** Fire the abort signal of every running copy of the task (the delivery pipeline's). */
  abort(taskId: string, reason: string): void;
  stats(): Readonly<WorkerStats & { running: number }>;
  /** The broker node in use (password masked): on a cluster, the one `inspect stats` names. */
  brokerNode(): string | undefined;
  /** What pool_grow/pool_shrink, rate_limit and time_limit change; `shutdown` stops the worker as SIGTERM does. */
  slots: Slots;
  rates: RateLimits;
  setTimeLimits: WorkerSettings["setTimeLimits"];
  shutdown(reason: string): void;
  /** The task queues consumed (add_consumer / cancel_consumer / active_queues). */
  queues: Pick<TaskQueues, "list" | "add" | "cancel">;
}

/**
 * How a TypeScript worker appears to Celery's tools: its remote control (ping, revoke, inspect: the
 * pidbox queue the topology plan declares for it) and, when `worker.events` is on, its Celery events
 * (worker-online/heartbeat/offline, and the task events the delivery pipeline's stages report through
 * `observer`). Both share one Lamport clock, as a Celery worker's do.
 */
export class CeleryPresence {
  /** Give this to the delivery pipeline. */
  readonly observer: DeliveryObserver;
  private readonly held = new HeldTasks();
  /** Tasks parked in a delay rung until their eta (`inspect scheduled`). */
  private readonly scheduled = new ScheduledTasks();
  private readonly clock: EventSource;
  private readonly events: WorkerEvents | undefined;
  private readonly control: RemoteControl;
  /** Tasks finished per task name (the `stats` reply's `total`). */
  private readonly totals = new Map<string, number>();
  private readonly startedAt = Date.now();

  constructor(private readonly parts: CeleryPresenceParts) {
    this.clock = new EventSource(parts.nodeName);
    const { config, nodeName, taskNames, logger, stats } = parts;
    this.events = config.worker.events
      ? workerEvents(config, nodeName, taskNames, logger, stats, this.clock, () => parts.slots.size)
      : undefined;
    const taskEvents = this.events && taskEventObserver(this.events, (delivery) => this.held.get(delivery));
    const { held, scheduled } = this;
    const finished = (name: string) => this.finished(name);
    const park = (verdict: Verdict, entry: HeldEntry | undefined) =>
      parkedNote(config, verdict, entry, scheduled);
    this.observer = {
      received(task, delivery) {
        scheduled.arrived(task.id);
        held.received(task, delivery);
        taskEvents?.received?.(task, delivery);
      },
      started(task, delivery) {
        held.started(task, delivery);
        taskEvents?.started?.(task, delivery);
      },
      settled(verdict, delivery) {
        taskEvents?.settled?.(verdict, delivery);
        const entry = held.get(delivery);
        if (verdict.kind === "delay" || verdict.kind === "retry") park(verdict, entry);
        if (entry && verdict.kind !== "give-back" && verdict.kind !== "delay") finished(entry.name);
        held.settled(verdict, delivery);
      },
    };
    this.control = new RemoteControl({ target: this.target(), clock: this.clock, logger: parts.logger });
  }

  /**
   * A task of `name` ended here: counted in the `stats` reply's `total`. The pipeline's settled tasks, and a
   * task past the delivery limit whose FAILURE row this worker stored (no worker lived to count its runs).
   */
  finished(name: string | undefined): void {
    if (name !== undefined) this.totals.set(name, (this.totals.get(name) ?? 0) + 1);
  }

  /** After every (re)connect: the events channel, and the control queue `declare` declares, consumed. */
  async attach(connection: ChannelModel, declare: DeclareControlQueue): Promise<void> {
    await this.events?.attach(connection);
    await this.control.attach(connection, declare);
  }

  /** Remember the ids as revoked; with `terminate`, abort the running ones. Returns the ids it aborted. */
  revoke(
    taskIds: readonly string[],
    options: { terminate: boolean; reason: string; signal?: string },
  ): string[] {
    const terminated: string[] = [];
    const signum =
      constants.signals[options.signal as keyof typeof constants.signals] ?? constants.signals.SIGTERM;
    for (const id of taskIds) {
      this.parts.revoked.add(id, options.reason);
      if (!options.terminate || !this.held.markTerminated(id, signum)) continue;
      this.parts.abort(id, options.reason);
      terminated.push(id);
    }
    return terminated;
  }

  /** Stop answering, send the buffered task events and worker-offline. */
  async close(): Promise<void> {
    await this.control.close();
    await this.events?.close();
  }

  private settings(): WorkerSettings {
    const { slots, rates, taskNames, logger, queues } = this.parts;
    return {
      concurrency: () => slots.size,
      setConcurrency: (size) => slots.resize(size),
      setRateLimit(task, perSecond) {
        if (!taskNames.includes(task)) return false;
        rates.set(task, perSecond);
        return true;
      },
      setTimeLimits: (task, limits) => this.parts.setTimeLimits(task, limits),
      shutdown: (reason) => {
        logger.warn({ reason }, "remote control: shutdown requested");
        this.parts.shutdown(reason);
      },
      addConsumer: (queue) => queues.add(queue),
      cancelConsumer: (queue) => queues.cancel(queue),
    };
  }

  private target(): ControlTarget {
    const { config, service, nodeName, taskNames, revoked } = this.parts;
    const names = entityNames(config.environment.prefix);
    const queue = names.serviceQueue(service);
    const consumed: ConsumedQueue = {
      name: queue,
      exchange: names.exchange,
      routingKey: serviceBindingKey(service),
      arguments: planTopology(config).queues.find((planned) => planned.name === queue)?.arguments ?? {},
    };
    return {
      nodeName,
      registered: () => [...taskNames],
      held: () => this.held.list(),
      scheduled: () => this.scheduled.list(),
      revokedIds: () => revoked.ids(),
      revoke: (ids, options) => this.revoke(ids, options),
      // An added queue was declared elsewhere: what is known of it is that the default exchange reaches it.
      queues: () =>
        this.parts.queues
          .list()
          .map((name) =>
            name === queue
              ? consumed
              : { name, exchange: "", exchangeType: "direct", routingKey: name, arguments: null },
          ),
      heartbeat: () => this.events?.heartbeatNow(),
      settings: this.settings(),
      stats: () => ({
        total: Object.fromEntries(this.totals),
        pid: process.pid,
        clock: this.clock.current,
        uptimeS: (Date.now() - this.startedAt) / 1_000,
        concurrency: this.parts.slots.size,
        prefetch: config.worker.prefetch,
        broker: {
          url: this.parts.brokerNode() ?? config.broker.url,
          heartbeatS: config.broker.heartbeatSeconds,
          connectTimeoutMs: config.broker.connectTimeoutMs,
        },
        extra: { wt_service: service, wt_toolbox_version: runtimeVersion() },
      }),
    };
  }
}

/**
 * A delay or a retry was published to a rung (the broker confirmed it): note it for `inspect scheduled` until
 * the rung gives it back. A delay's eta is the message's; a retry's is its countdown from now.
 */
function parkedNote(
  config: ToolboxConfig,
  verdict: Verdict,
  entry: HeldEntry | undefined,
  scheduled: ScheduledTasks,
): void {
  if (!entry || (verdict.kind !== "delay" && verdict.kind !== "retry")) return;
  const now = Date.now();
  const eta =
    verdict.kind === "delay" ? (verdict.task.eta?.getTime() ?? now + verdict.delayMs) : now + verdict.delayMs;
  scheduled.parked(entry, eta, now + pickDelayRung(config, verdict.delayMs));
}
