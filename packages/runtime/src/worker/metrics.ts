import { ToolboxError } from "@worker-toolbox/config";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { BrokerState } from "../broker/connection.js";
import type { DeadLetterReason } from "../protocol/envelope.js";
import type { ResultStore } from "../results/resultStore.js";

/**
 * The worker's Prometheus metrics (prom-client), in a registry the worker owns unless one is passed.
 * docs/observability.md lists them with what to alert on.
 *
 * Per message this costs a few increments of plain numbers and one histogram observation: the counters
 * are tallied per task here and handed to prom-client when Prometheus scrapes, and everything that is a
 * level rather than an event (in flight, pending results, consumer and broker state) is read then too. The `task`
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

type TaskLabels = { readonly task: string };

/** One task's event counts: plain numbers bumped per message, handed to prom-client when it scrapes. */
interface Tally {
  readonly labels: TaskLabels;
  received: number;
  succeeded: number;
  failed: number;
  retried: number;
  revoked: number;
  deadLettered: Map<DeadLetterReason, number>;
  /** The duration histogram's child for this task, bound once. */
  observe: (seconds: number) => void;
}

type TallyCount = "received" | "succeeded" | "failed" | "retried" | "revoked";

export class WorkerMetrics {
  readonly registry: Registry;
  private readonly tallies = new Map<string, Tally>();
  private readonly unknown = tally(UNKNOWN_TASK);
  private readonly writeDuration: Histogram;
  private readonly writeErrors: Counter;
  private readonly batchSize: Histogram;
  private readonly consumerTimeouts: Counter;

  constructor(options: WorkerMetricsOptions) {
    const owned = !options.registry;
    const registry = options.registry ?? new Registry();
    this.registry = registry;
    for (const name of options.taskNames) this.tallies.set(name, tally(name));
    const all = [...this.tallies.values(), this.unknown];

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
    registerTaskCounters(registers, all);
    const handlerDuration = new Histogram({
      name: `${METRIC_PREFIX}task_duration_seconds`,
      help: "Time a handler ran, successful or not.",
      labelNames: ["task"],
      buckets: HANDLER_BUCKETS,
      registers,
    });
    for (const t of all) t.observe = handlerDuration.labels(t.labels).observe;
    this.writeDuration = new Histogram({
      name: `${METRIC_PREFIX}result_write_seconds`,
      help: "Time one batch of result rows took to commit (each attempt).",
      buckets: WRITE_BUCKETS,
      registers,
    });
    this.writeErrors = new Counter({
      name: `${METRIC_PREFIX}result_write_errors_total`,
      help: "Result batch writes that failed (then retried).",
      registers,
    });
    this.batchSize = new Histogram({
      name: `${METRIC_PREFIX}result_batch_size`,
      help: "Result rows per batch write.",
      buckets: BATCH_BUCKETS,
      registers,
    });
    this.consumerTimeouts = new Counter({
      name: `${METRIC_PREFIX}consumer_timeouts_total`,
      help: "Consumer channels RabbitMQ closed because a delivery stayed unacknowledged past its consumer_timeout (a task ran longer).",
      registers,
    });

    registerLevels(registers, options.sample);

    if (owned) registry.setDefaultLabels({ service: options.service });
    if (options.processMetrics) collectDefaultMetrics({ register: registry });
  }

  /** The header's task name, or anything else (malformed, not a string). */
  received(task: unknown): void {
    const t = (typeof task === "string" && this.tallies.get(task)) || this.unknown;
    t.received += 1;
  }

  succeeded(task: string): void {
    this.tallyOf(task).succeeded += 1;
  }

  failed(task: string | undefined): void {
    this.tallyOf(task).failed += 1;
  }

  retried(task: string): void {
    this.tallyOf(task).retried += 1;
  }

  revoked(task: string | undefined): void {
    this.tallyOf(task).revoked += 1;
  }

  deadLettered(task: string | undefined, reason: DeadLetterReason): void {
    const counts = this.tallyOf(task).deadLettered;
    counts.set(reason, (counts.get(reason) ?? 0) + 1);
  }

  /** A handler ran from `startedAt` (performance.now()) until now. */
  handlerFinished(task: string, startedAt: number): void {
    this.tallyOf(task).observe((performance.now() - startedAt) / 1_000);
  }

  /** RabbitMQ closed a consumer channel for its consumer_timeout. */
  consumerTimedOut(): void {
    this.consumerTimeouts.inc();
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

  private tallyOf(task: string | undefined): Tally {
    return (task !== undefined && this.tallies.get(task)) || this.unknown;
  }
}

function tally(task: string): Tally {
  return {
    labels: Object.freeze({ task }),
    received: 0,
    succeeded: 0,
    failed: 0,
    retried: 0,
    revoked: 0,
    deadLettered: new Map(),
    observe: () => undefined,
  };
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
  "consumer_timeouts_total",
  "tasks_in_flight",
  "results_pending",
  "consumer_active",
  "broker_connection_state",
].map((name) => METRIC_PREFIX + name);

/** The per-task event counters, read from the tallies when Prometheus scrapes. */
function registerTaskCounters(registers: Registry[], all: readonly Tally[]): void {
  // Every known task is reported from the first scrape (at 0), so rate() and absent() work before traffic.
  const taskCounter = (name: string, help: string, count: TallyCount) =>
    new Counter({
      name: METRIC_PREFIX + name,
      help,
      labelNames: ["task"],
      registers,
      collect() {
        this.reset();
        for (const t of all) this.inc(t.labels, t[count]);
      },
    });

  taskCounter(
    "tasks_received_total",
    "Task messages taken from the service queue (every attempt, and every pass of a future eta).",
    "received",
  );
  taskCounter("tasks_succeeded_total", "Tasks that succeeded (result stored).", "succeeded");
  taskCounter(
    "tasks_failed_total",
    "Handler runs that failed (threw, timed out or returned an invalid result), retried or not.",
    "failed",
  );
  taskCounter("tasks_retried_total", "Failed runs for which a retry was scheduled.", "retried");
  taskCounter("tasks_revoked_total", "Tasks not run: revoked or expired.", "revoked");
  new Counter({
    name: `${METRIC_PREFIX}tasks_dead_lettered_total`,
    help: "Messages sent to the service's dead-letter queue, by reason.",
    labelNames: ["task", "reason"],
    registers,
    collect() {
      this.reset();
      for (const t of all) {
        for (const [reason, value] of t.deadLettered) this.inc({ task: t.labels.task, reason }, value);
      }
    },
  });
}

/** Levels read at scrape time: handlers running, rows pending, consumer and broker state. */
function registerLevels(registers: Registry[], sample: () => WorkerSample): void {
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
}
