import { z } from "zod";
import { amqpUrlListProblem, splitUrlList } from "./brokerUrls.js";
import { SERVICE_NAME_PATTERN } from "./names.js";

/**
 * The one source of configuration truth. Types come from `z.infer`, defaults from `.default()`,
 * docs/config.md and docs/config.schema.json are generated from the descriptions and examples here,
 * and environment variable names are derived from the paths (see `envVarName`).
 *
 * Three fields have no default on purpose: `environment.prefix`, `broker.url` and `database.url`.
 * Outside production mode `loadConfig` fills them from the development preset (the URLs only when a mode
 * was named); in production a missing one is a hard error — for `database.url` and `service`, only in the
 * roles that use them (roles.ts).
 */

/** Attach the description and an example that docs and error messages show. */
function doc<T extends z.ZodType>(schema: T, description: string, example: unknown): T {
  return schema.meta({ description, examples: [example] }) as T;
}

/** One amqp(s) URL, or the comma-separated URLs of a cluster's nodes; a config file may give an array. */
const amqpUrlList = z
  .union([
    z.string(),
    z
      .array(z.string())
      .min(1)
      .transform((urls) => urls.join(",")),
  ])
  .superRefine((value, context) => {
    const problem = amqpUrlListProblem(value);
    if (problem) context.addIssue({ code: "custom", message: problem });
  });

const postgresUrl = z.string().refine(
  (value) => {
    try {
      const url = new URL(value);
      return (url.protocol === "postgres:" || url.protocol === "postgresql:") && url.hostname !== "";
    } catch {
      return false;
    }
  },
  { message: "must be a postgres:// or postgresql:// URL with a host" },
);

const httpUrl = z.string().refine(
  (value) => {
    try {
      return ["http:", "https:"].includes(new URL(value).protocol);
    } catch {
      return false;
    }
  },
  { message: "must be an http:// or https:// URL" },
);

/** One http(s) URL, or several separated by commas (a cluster's management APIs). */
const httpUrlList = z.string().refine(
  (value) => {
    const urls = splitUrlList(value);
    return urls.length > 0 && urls.every((url) => httpUrl.safeParse(url).success);
  },
  { message: "must be an http:// or https:// URL, or several separated by commas" },
);

const positiveInt = () => z.number().int().positive();

// Groups holding required fields use `.prefault({} as never)`: an absent group is parsed as `{}`, so the
// error names each missing field (`broker.url`) instead of the whole group.

export const retryPolicySchema = z.strictObject({
  maxAttempts: doc(
    positiveInt().max(100).default(5),
    "How many times a task runs in total before it is dead-lettered (1 = never retried).",
    5,
  ),
  backoffBaseMs: doc(
    positiveInt().default(1_000),
    "Delay before the first retry; each further retry doubles it (exponential backoff).",
    1000,
  ),
  backoffMaxMs: doc(positiveInt().default(600_000), "Upper bound of the retry delay.", 600000),
  jitter: doc(
    z.enum(["full", "equal", "none"]).default("full"),
    "Randomisation of the delay: full = uniform in [0, delay], equal = [delay/2, delay], none = exact.",
    "full",
  ),
});

/** Alarm thresholds of one service queue (and its dead-letter queue), for `doctor` and `monitor`. */
export const monitorThresholdsSchema = z.strictObject({
  maxDepth: doc(
    z.number().int().min(0).default(10_000),
    "Alarm when a service queue holds more messages than this (ready and unacknowledged).",
    10000,
  ),
  maxOldestMessageAgeMs: doc(
    z.number().int().min(0).default(600_000),
    "Alarm when the oldest waiting message is older than this. Measurable only when messages carry a " +
      "timestamp (see docs/operations.md); otherwise the check is reported as skipped.",
    600000,
  ),
  minConsumers: doc(
    z.number().int().min(0).default(1),
    "Alarm when a service queue has fewer consumers than this (0 turns the check off).",
    1,
  ),
  alertOnDeadLetters: doc(
    z.boolean().default(true),
    "Alarm when the service's dead-letter queue is not empty.",
    true,
  ),
});

/** The loss audit the monitor can run: `worker-toolbox audit` at an interval, alarming on unaccounted tasks. */
const monitorAuditSchema = z.strictObject({
  enabled: doc(
    z.boolean().default(false),
    "Run the loss audit (`worker-toolbox audit`) from `worker-toolbox monitor` and raise an `unaccounted-tasks` " +
      "alarm per service with lost, overdue or untracked tasks. Reads the result database (database.url).",
    true,
  ),
  windowMs: doc(
    positiveInt().default(86_400_000),
    "The audit's window: tasks scheduled this long ago or later.",
    86400000,
  ),
  graceMs: doc(
    z.number().int().min(0).default(3_600_000),
    "How long past its due time (scheduled, eta, retry) a task may take before the audit counts it as overdue. " +
      "Longer than the longest queue wait plus run time you accept.",
    3600000,
  ),
  intervalSeconds: doc(
    positiveInt().max(86_400).default(300),
    "How often the monitor runs the audit (it reads the tracking and result tables and the dead-letter queues).",
    300,
  ),
});

/** A per-service override: the same fields without defaults, so what is left out keeps `monitor.thresholds`. */
const monitorOverrideSchema = z.strictObject({
  maxDepth: doc(z.number().int().min(0).optional(), "Overrides `monitor.thresholds.maxDepth`.", 50000),
  maxOldestMessageAgeMs: doc(
    z.number().int().min(0).optional(),
    "Overrides `monitor.thresholds.maxOldestMessageAgeMs`.",
    3600000,
  ),
  minConsumers: doc(z.number().int().min(0).optional(), "Overrides `monitor.thresholds.minConsumers`.", 2),
  alertOnDeadLetters: doc(
    z.boolean().optional(),
    "Overrides `monitor.thresholds.alertOnDeadLetters`.",
    false,
  ),
});

/** The byte budget of a consumer (worker or tracker): what it holds delivered and not yet acknowledged. */
function maxInFlightBytes(who: "worker" | "tracker") {
  return doc(
    positiveInt()
      .min(64 * 1024)
      .max(4 * 1024 * 1024 * 1024)
      .default(64 * 1024 * 1024),
    `Bytes of messages the ${who} holds at once (delivered, not yet acknowledged). The prefetch counts ` +
      `messages; this keeps large ones from piling up: the ${who} takes fewer ahead while messages are ` +
      "large, and stops taking any while over it (docs/worker.md, Memory).",
    67108864,
  );
}

export const configSchema = z.strictObject({
  mode: doc(
    z.enum(["development", "production", "test"]).default("development"),
    "development fills in local defaults for the prefix and both URLs; production has no defaults for " +
      "them and fails hard when one is missing; test is development with short timeouts. " +
      "Falls back to production when NODE_ENV=production.",
    "production",
  ),
  service: doc(
    z
      .string()
      .regex(SERVICE_NAME_PATTERN, "must be lower kebab-case letters and digits, starting with a letter")
      .optional(),
    "The service this process belongs to. Its queue is `<prefix>.<service>`, bound with `<service>.#`. " +
      "Required for workers; producers and the tracker may leave it out.",
    "export",
  ),
  environment: z
    .strictObject({
      prefix: doc(
        z
          .string()
          .regex(/^[a-z][a-z0-9-]{0,31}$/, "must be 1-32 lower-case letters, digits or hyphens")
          .refine((value) => !["amq"].includes(value), "`amq` is reserved by RabbitMQ"),
        "Environment prefix of every exchange and queue name, isolating environments on a shared broker.",
        "staging",
      ),
    })
    .prefault({} as never),
  broker: z
    .strictObject({
      url: doc(
        amqpUrlList,
        "RabbitMQ URL including credentials and vhost; use amqps:// for TLS. For a cluster, the URLs of its " +
          "nodes separated by commas (a JSON array in a config file): every process connects to one node and " +
          "fails over to the next when it is lost (`broker.failoverOrder`).",
        "amqps://worker:secret@rabbitmq-1.internal:5671/tasks,amqps://worker:secret@rabbitmq-2.internal:5671/tasks",
      ),
      failoverOrder: doc(
        z.enum(["random", "listed"]).default("random"),
        "With several broker URLs: random = each process shuffles the list once and moves on to the next node " +
          "when one is lost (spreads connections over the cluster); listed = every reconnect starts at the first " +
          "URL and falls through the list (a preferred node).",
        "random",
      ),
      managementUrl: doc(
        httpUrlList.optional(),
        "RabbitMQ management API, used to verify bindings and to monitor queues. Defaults to each broker " +
          "node's host on port 15672 with the broker's credentials; set it when the API lives elsewhere (for " +
          "a cluster, one URL per node separated by commas, tried in turn, or one behind a load balancer).",
        "https://worker:secret@rabbitmq.internal:15671/",
      ),
      tls: z
        .strictObject({
          caFile: doc(
            z.string().optional(),
            "PEM file of the CA that signed the broker certificate.",
            "/etc/ssl/ca.pem",
          ),
          certFile: doc(
            z.string().optional(),
            "PEM client certificate for mutual TLS.",
            "/etc/ssl/client.pem",
          ),
          keyFile: doc(
            z.string().optional(),
            "PEM private key of the client certificate.",
            "/etc/ssl/client.key",
          ),
          passphrase: doc(z.string().optional(), "Passphrase of the client key.", "s3cret"),
          rejectUnauthorized: doc(
            z.boolean().default(true),
            "Reject broker certificates that do not verify. Only turn off for local experiments.",
            true,
          ),
          servername: doc(
            z.string().optional(),
            "Server name (SNI) to verify, when it differs from the host.",
            "rabbitmq.internal",
          ),
        })
        .prefault({}),
      heartbeatSeconds: doc(
        z.number().int().min(0).max(600).default(30),
        "AMQP heartbeat interval; a dead connection is noticed after about twice this. 0 turns heartbeats off (amqplib 2; before, 0 took the broker's value).",
        30,
      ),
      connectTimeoutMs: doc(
        positiveInt().default(10_000),
        "How long one connection attempt may take.",
        10000,
      ),
      reconnectInitialDelayMs: doc(
        positiveInt().default(500),
        "First reconnect delay (exponential backoff with jitter).",
        500,
      ),
      reconnectMaxDelayMs: doc(positiveInt().default(30_000), "Largest reconnect delay.", 30000),
    })
    .prefault({} as never),
  database: z
    .strictObject({
      url: doc(
        postgresUrl.optional(),
        "PostgreSQL URL of the result backend. Workers should use the least-privilege worker role " +
          "(`worker-toolbox db grants`). Workers, the tracker and the command-line tools need it; a " +
          'producer-only process does not (`loadConfig({ role: "producer" })`).',
        "postgres://worker:secret@db.internal:5432/tasks",
      ),
      schema: doc(
        z
          .string()
          .regex(/^[a-z_][a-z0-9_]{0,62}$/, "must be a plain lower-case SQL identifier")
          .default("public"),
        "Schema holding the result and tracking tables.",
        "public",
      ),
      poolSize: doc(positiveInt().max(100).default(5), "Connections per process in the pool.", 5),
      preparedStatements: doc(
        z.boolean().default(true),
        "Write results with a named prepared statement (planned once per connection). Set false behind a " +
          "transaction-pooling PgBouncer older than 1.21 (or without max_prepared_statements).",
        false,
      ),
      resultExtended: doc(
        z.boolean().default(true),
        "Store each task's args and kwargs in its result row too (Celery's result_extended; `celery-config` " +
          "prints it, and Python workers then also write name, worker, retries and queue). On by default, so " +
          "Python's AsyncResult.args/.kwargs find them and Python workers' rows keep the name the dashboard " +
          "groups by. Off stores the arguments once, in the tracking row, where the dashboard and getTask read " +
          "them: one copy of every payload less to write (docs/results.md).",
        false,
      ),
    })
    .prefault({} as never),
  queue: z
    .strictObject({
      type: doc(
        z.enum(["quorum", "classic"]).default("quorum"),
        "Queue type. quorum is replicated, survives node loss and enforces the delivery limit on the broker; " +
          "classic is lighter. Changing it on an existing queue is drift: migrate by draining and re-creating.",
        "quorum",
      ),
      deliveryLimit: doc(
        positiveInt().max(1000).default(10),
        "Quorum queues: after this many redeliveries (crashes mid-task) the broker dead-letters the message, " +
          "so a message that kills its worker cannot loop forever.",
        10,
      ),
      replicas: doc(
        z.number().int().min(1).max(99).optional(),
        "Quorum queues: how many nodes hold a replica of each queue (x-quorum-initial-group-size). Unset: the " +
          "broker's default (rabbit.quorum_cluster_size, 3). An odd number; 3 survives one node down, 5 two. " +
          "Fixed when a queue is created: changing it is drift (grow or shrink with rabbitmq-queues).",
        3,
      ),
      deadLetterStrategy: doc(
        z.enum(["at-least-once", "at-most-once"]).default("at-least-once"),
        "Quorum queues: how the broker dead-letters from service and platform queues (delivery limit " +
          "exceeded). at-least-once keeps a message in its queue until the dead-letter queue confirmed it " +
          "(x-dead-letter-strategy with x-overflow=reject-publish, RabbitMQ 3.10+); at-most-once drops it if the " +
          "dead-letter queue is unavailable at that moment, and declares the arguments of queues created before " +
          "this setting existed. Delay rungs always dead-letter at least once.",
        "at-least-once",
      ),
      delayRungsMs: doc(
        z
          .array(positiveInt())
          .min(1)
          .default(
            [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 3600].map((seconds) => seconds * 1_000),
          ),
        "Delay rungs: one broker-side delay queue (queue TTL) per value, shared by all services. A retry or a " +
          "future eta waits in the largest rung not longer than the time left, then re-enters the exchange; " +
          "the worker sends it round again until it is due. Needs no broker plugin; due times are exact to " +
          "the smallest rung.",
        [1000, 2000, 4000, 8000],
      ),
    })
    .prefault({}),
  worker: z
    .strictObject({
      prefetch: doc(
        positiveInt().max(10_000).default(20),
        "Unacknowledged messages the broker sends ahead.",
        20,
      ),
      concurrency: doc(positiveInt().max(1_000).default(8), "Handlers running at once in one process.", 8),
      shutdownGraceMs: doc(
        positiveInt().default(30_000),
        "On SIGTERM, how long running tasks may finish before they are aborted and returned to the queue.",
        30000,
      ),
      resultBatchSize: doc(
        positiveInt().max(1_000).default(100),
        "Results written per database round trip; a message is acknowledged only after its row is committed.",
        100,
      ),
      resultBatchWaitMs: doc(
        z.number().int().min(0).max(1_000).default(2),
        "How long to wait for more results before writing a partial batch.",
        2,
      ),
      maxInFlightBytes: maxInFlightBytes("worker"),
      trackStarted: doc(
        z.boolean().default(false),
        "Write a STARTED row when a task starts (Celery's task_track_started; a contract's `trackStarted` " +
          "asks for it per task). Off by default, as in Celery: one more write per task.",
        true,
      ),
      events: doc(
        z.boolean().default(false),
        "Send Celery events (as `celery worker -E`): worker-online/heartbeat/offline and task-received/" +
          "started/succeeded/failed/retried/revoked on `<prefix>.celeryev`, for `celery events`, Flower and the " +
          "dashboard. On by default in development mode.",
        true,
      ),
      heartbeatMs: doc(
        z.number().int().min(500).max(60_000).default(2_000),
        "With events on, how often the worker sends worker-heartbeat (Celery's is every 2 s; monitors call " +
          "a worker offline after missing a few).",
        2000,
      ),
      healthPort: doc(
        z.number().int().min(0).max(65_535).optional(),
        "Port of the HTTP endpoint with /healthz, /readyz and /metrics. Off when unset; 0 picks a free port.",
        9464,
      ),
      healthHost: doc(
        z.string().min(1).optional(),
        "Interface the health endpoint listens on (with worker.healthPort). Unset: every interface (`::`, IPv4 " +
          "too), since probes and scrapers come from outside the container; the development and test presets " +
          "set 127.0.0.1, so a laptop does not serve /metrics to its network.",
        "0.0.0.0",
      ),
    })
    .prefault({}),
  retry: retryPolicySchema.prefault({}),
  producer: z
    .strictObject({
      publishTimeoutMs: doc(
        positiveInt().default(10_000),
        "Deadline for the broker to confirm a publish; past it send() rejects with PUBLISH_TIMEOUT.",
        10000,
      ),
      offlineBufferSize: doc(
        z.number().int().min(0).max(100_000).default(0),
        "Sends held while reconnecting (0 = none: sends fail fast while the broker is down). When full, " +
          "further sends reject with PUBLISH_BUFFER_FULL; nothing is dropped silently.",
        1000,
      ),
      maxQueuedBytes: doc(
        positiveInt()
          .max(1024 * 1024 * 1024)
          .default(64 * 1024 * 1024),
        "Message bytes held in memory while the connection's write buffer drains (the broker reads slower " +
          "than sends arrive). A send that would pass it rejects with PUBLISH_BUFFER_FULL, not published; " +
          "sendMany paces itself and never fills it.",
        67108864,
      ),
    })
    .prefault({}),
  limits: z
    .strictObject({
      maxMessageBytes: doc(
        positiveInt()
          .max(128 * 1024 * 1024)
          .default(1024 * 1024),
        "Largest encoded task message; bigger ones are rejected before publishing, and dead-lettered " +
          "unrun and unstored by workers and the tracker (reason too-large) when one arrives anyway. Pass ids, " +
          "not objects.",
        1048576,
      ),
    })
    .prefault({}),
  tracker: z
    .strictObject({
      batchSize: doc(positiveInt().max(10_000).default(500), "Tracking rows written per transaction.", 500),
      prefetch: doc(
        positiveInt().max(65_535).default(2_000),
        "Platform-queue messages the tracker takes ahead.",
        2000,
      ),
      maxInFlightBytes: maxInFlightBytes("tracker"),
    })
    .prefault({}),
  dashboard: z
    .strictObject({
      host: doc(
        z.string().min(1).default("127.0.0.1"),
        "Address `worker-toolbox dashboard` binds to. Anything but a loopback address needs " +
          "`dashboard.viewerPassword` or `dashboard.operatorPassword`: the dashboard refuses to start without.",
        "0.0.0.0",
      ),
      port: doc(
        z.number().int().min(0).max(65_535).default(8089),
        "Port of the dashboard (0: any free port).",
        8089,
      ),
      viewerPassword: doc(
        z.string().min(12, "must be at least 12 characters").optional(),
        "Password of the read-only `viewer` (HTTP basic auth, or `Authorization: Bearer <password>`). " +
          "When no password is set, the dashboard is open to everyone who reaches it (loopback only).",
        "a-long-random-viewer-secret",
      ),
      operatorPassword: doc(
        z.string().min(12, "must be at least 12 characters").optional(),
        "Password of the `operator`, who may also revoke, replay and purge (basic auth user `operator`).",
        "a-long-random-operator-secret",
      ),
    })
    .prefault({}),
  logLevel: doc(
    z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    "pino log level.",
    "info",
  ),
  logFormat: doc(
    z.enum(["auto", "pretty", "json"]).default("auto"),
    "Log line format. auto: readable lines (pino-pretty) in development and test modes when the output is a " +
      "terminal, one JSON object per line otherwise (always in production mode); pretty or json: always that.",
    "json",
  ),
  monitor: z
    .strictObject({
      intervalSeconds: doc(
        positiveInt().max(86_400).default(30),
        "How often `worker-toolbox monitor` samples the queues.",
        30,
      ),
      webhookUrl: doc(
        httpUrl.optional(),
        "Where `worker-toolbox monitor` POSTs a JSON body when an alarm is raised or resolved. Off when unset.",
        "https://hooks.example.com/worker-toolbox",
      ),
      thresholds: monitorThresholdsSchema.prefault({}),
      services: doc(
        z
          .record(
            z.string().regex(SERVICE_NAME_PATTERN, "must be a service name (lower kebab-case)"),
            monitorOverrideSchema,
          )
          .default({}),
        "Per-service overrides of `monitor.thresholds`, keyed by service name; fields left out keep the default. " +
          "In the environment, one JSON object.",
        { export: { maxDepth: 50000, maxOldestMessageAgeMs: 3600000 } },
      ),
      audit: monitorAuditSchema.prefault({}),
    })
    .prefault({}),
});

export type ToolboxConfig = z.infer<typeof configSchema>;
export type ToolboxConfigInput = z.input<typeof configSchema>;
export type QueueType = ToolboxConfig["queue"]["type"];
export type RetryPolicy = z.infer<typeof retryPolicySchema>;
