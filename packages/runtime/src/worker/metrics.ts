import { ToolboxError } from "@worker-toolbox/config";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { BrokerState } from "../broker/connection.js";
import type { ResultStore } from "../results/resultStore.js";
import type { DeadLetterReason } from "./deadLetter.js";

/**
 * The worker's Prometheus metrics (prom-client), in a registry the worker owns unless one is passed.
 * docs/observability.md lists them with what to alert on.
 *
 * Per message this costs a few counter increments and one histogram observation: label objects are built
 * once per task name, and everything that is a level rather than an event (in flight, pending results,
 * consumer and broker state) is read when Prometheus scrapes, not maintained on the hot path. The `task`
 * label only takes the service's own task names plus `unknown`, so a flood of junk routing keys cannot
 * blow up the number of series.
 */
export const METRIC_PREFIX = "worker_toolbox_";

/** The `task` label of messages that name no task of this service (or none at all). */
export const UNKNOWN_TASK = "unknown";

const BROKER_STATES = [
  "connecting",
  "connected",
  "recovering",
  "failed",
  "closed",
] as const satisfies readonly BrokerState[];

// Tasks run from milliseconds (a lookup) to many minutes (an export).
const HANDLER_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];
const WRITE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const BATCH_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];

/** Levels read at scrape time. */
export interface WorkerSample {
  running: number;
  pendingResults: number;
  consumerActive: boolean;
  broker: BrokerState;
}

export interface WorkerMetricsOptions {
  service: string;
  taskNames: readonly string[];
  sample: () => WorkerSample;
  /** Register here instead of a new registry (the caller then owns its default labels). */
  registry?: Registry;
  /** Also collect prom-client's process metrics (CPU, memory, event loop lag, GC) into the registry. */
  processMetrics?: boolean;
}

type TaskLabels = { task: string };
type DeadLabels = { task: string; reason: DeadLetterReason };

export class WorkerMetrics {
  readonly registry: Registry;
  private readonly labels = new Map<string, TaskLabels>();
  private readonly unknown: TaskLabels = { task: UNKNOWN_TASK };
  private readonly deadLabels = new Map<TaskLabels, Map<DeadLetterReason, DeadLabels>>();
  private readonly receivedTotal: Counter<"task">;
  private readonly succeededTotal: Counter<"task">;
  private readonly failedTotal: Counter<"task">;
  private readonly retriedTotal: Counter<"task">;
  private readonly deadLetteredTotal: Counter<"task" | "reason">;
  private readonly revokedTotal: Counter<"task">;
  private readonly handlerDuration: Histogram<"task">;
  private readonly writeDuration: Histogram;
  private readonly writeErrors: Counter;
  private readonly batchSize: Histogram;

  constructor(options: WorkerMetricsOptions) {
    const owned = !options.registry;
    const registry = options.registry ?? new Registry();
    this.registry = registry;
    for (const name of options.taskNames) this.labels.set(name, Object.freeze({ task: name }));
    const taskNames = [...this.labels.values(), this.unknown];

    const taken = METRIC_NAMES.find((name) => registry.getSingleMetric(name));
    if (taken) {
      throw new ToolboxError(
        "CONFIG_INVALID",
        `The metrics registry passed to the worker of ${options.service} already has ${taken}.`,
        {
          hint: "give each worker in a process its own registry (the default), and serve each on its own port",
        },
      );
    }
    const registers = [registry];
    const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
      new Counter<L>({ name: METRIC_PREFIX + name, help, labelNames, registers });

    this.receivedTotal = counter(
      "tasks_received_total",
      "Task messages taken from the service queue (every attempt, and every hop of a future eta).",
      ["task"],
    );
    this.succeededTotal = counter("tasks_succeeded_total", "Tasks that succeeded (result stored).", ["task"]);
    this.failedTotal = counter(
      "tasks_failed_total",
      "Handler runs that failed (threw, timed out or returned an invalid result), retried or not.",
      ["task"],
    );
    this.retriedTotal = counter("tasks_retried_total", "Failed runs for which a retry was scheduled.", [
      "task",
    ]);
    this.deadLetteredTotal = counter(
      "tasks_dead_lettered_total",
      "Messages sent to the service's dead-letter queue, by reason.",
      ["task", "reason"],
    );
    this.revokedTotal = counter("tasks_revoked_total", "Tasks not run: revoked or expired.", ["task"]);
    this.handlerDuration = new Histogram({
      name: `${METRIC_PREFIX}task_duration_seconds`,
      help: "Time a handler ran, successful or not.",
      labelNames: ["task"],
      buckets: HANDLER_BUCKETS,
      registers,
    });
    this.writeDuration = new Histogram({
      name: `${METRIC_PREFIX}result_write_seconds`,
      help: "Time one batch of result rows took to commit (each attempt).",
      buckets: WRITE_BUCKETS,
      registers,
    });
    this.writeErrors = counter(
      "result_write_errors_total",
      "Result batch writes that failed (then retried).",
      [],
    );
    this.batchSize = new Histogram({
      name: `${METRIC_PREFIX}result_batch_size`,
      help: "Result rows per batch write.",
      buckets: BATCH_BUCKETS,
      registers,
    });

    // Every known task shows up at 0 from the first scrape, so rate() and absent() work before traffic.
    for (const labels of taskNames) {
      this.receivedTotal.inc(labels, 0);
      this.succeededTotal.inc(labels, 0);
      this.failedTotal.inc(labels, 0);
      this.retriedTotal.inc(labels, 0);
      this.revokedTotal.inc(labels, 0);
    }

    const sample = options.sample;
    new Gauge({
      name: `${METRIC_PREFIX}tasks_in_flight`,
      help: "Handlers running now.",
      registers,
      collect() {
        this.set(sample().running);
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}results_pending`,
      help: "Result rows waiting to be written or being written (their messages are not yet acknowledged).",
      registers,
      collect() {
        this.set(sample().pendingResults);
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}consumer_active`,
      help: "1 while the worker consumes its queue, 0 while starting, reconnecting or stopping.",
      registers,
      collect() {
        this.set(sample().consumerActive ? 1 : 0);
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}broker_connection_state`,
      help: "1 for the broker connection's current state, 0 for the others.",
      labelNames: ["state"],
      registers,
      collect() {
        const current = sample().broker;
        for (const state of BROKER_STATES) this.set({ state }, state === current ? 1 : 0);
      },
    });

    if (owned) registry.setDefaultLabels({ service: options.service });
    if (options.processMetrics) collectDefaultMetrics({ register: registry });
  }

  /** The header's task name, or anything else (malformed, not a string). */
  received(task: unknown): void {
    this.receivedTotal.inc((typeof task === "string" && this.labels.get(task)) || this.unknown);
  }

  succeeded(task: string): void {
    this.succeededTotal.inc(this.labelsOf(task));
  }

  failed(task: string): void {
    this.failedTotal.inc(this.labelsOf(task));
  }

  retried(task: string): void {
    this.retriedTotal.inc(this.labelsOf(task));
  }

  revoked(task: string | undefined): void {
    this.revokedTotal.inc(task === undefined ? this.unknown : this.labelsOf(task));
  }

  deadLettered(task: string | undefined, reason: DeadLetterReason): void {
    const labels = task === undefined ? this.unknown : this.labelsOf(task);
    let byReason = this.deadLabels.get(labels);
    if (!byReason) {
      byReason = new Map();
      this.deadLabels.set(labels, byReason);
    }
    let dead = byReason.get(reason);
    if (!dead) {
      dead = Object.freeze({ task: labels.task, reason });
      byReason.set(reason, dead);
    }
    this.deadLetteredTotal.inc(dead);
  }

  /** A handler ran from `startedAt` (performance.now()) until now. */
  handlerFinished(task: string, startedAt: number): void {
    this.handlerDuration.observe(this.labelsOf(task), (performance.now() - startedAt) / 1_000);
  }

  /** `store` whose batch writes are timed (each attempt) and counted, for the result batcher. */
  timedStore(store: Pick<ResultStore, "writeMany">): Pick<ResultStore, "writeMany"> {
    return {
      writeMany: async (outcomes) => {
        const startedAt = performance.now();
        try {
          const summary = await store.writeMany(outcomes);
          this.batchSize.observe(outcomes.length);
          return summary;
        } catch (error) {
          this.writeErrors.inc();
          throw error;
        } finally {
          this.writeDuration.observe((performance.now() - startedAt) / 1_000);
        }
      },
    };
  }

  private labelsOf(task: string): TaskLabels {
    return this.labels.get(task) ?? this.unknown;
  }
}

const METRIC_NAMES = [
  "tasks_received_total",
  "tasks_succeeded_total",
  "tasks_failed_total",
  "tasks_retried_total",
  "tasks_dead_lettered_total",
  "tasks_revoked_total",
  "task_duration_seconds",
  "result_write_seconds",
  "result_write_errors_total",
  "result_batch_size",
  "tasks_in_flight",
  "results_pending",
  "consumer_active",
  "broker_connection_state",
].map((name) => METRIC_PREFIX + name);
