import {
  type AnyTaskContract,
  entityNames,
  isToolboxError,
  maskUrl,
  planTopology,
  splitUrlList,
  type ToolboxConfig,
  type TopologyPlan,
} from "@worker-toolbox/config";
import {
  createProducer,
  createWorker,
  type Producer,
  type TaskView,
  type Worker,
  waitForResult,
} from "@worker-toolbox/runtime";
import { connectAnyNode, vhostOf } from "@worker-toolbox/runtime/broker";
import { createDatabasePool } from "@worker-toolbox/runtime/results";
import {
  type ManagementClient,
  type VerifyTopologyResult,
  verifyTopology,
} from "@worker-toolbox/runtime/topology";
import {
  createTestDatabase,
  createTestNamespace,
  deleteNamespace,
  type LocalServers,
  type TestDatabase,
} from "@worker-toolbox/testing";
import type amqp from "amqplib";
import type { ChannelModel, ConfirmChannel } from "amqplib";
import type { Pool } from "pg";
import { Diagnosis } from "./diagnosis.js";
import { ConformanceFailure, firstLine } from "./failure.js";
import { baseConfig, runConfig, withDatabaseUrl } from "./runConfig.js";
import { dropRunRoles, installRunDatabase, runRoleNames } from "./runRoles.js";
import { reachableManagement, resolveServers } from "./runServers.js";
import { SyntheticTasks } from "./synthetic.js";
import { raceDeadline, withDeadline } from "./timing.js";
import type { ConformanceOptions, ConformanceRunNames, ConformanceServers, StartedWorker } from "./types.js";
import { resultWriters } from "./writerAudit.js";

export type StartOutcome = { ok: true } | { ok: false; error: Error };

/**
 * One run of the suite: servers, a namespace (environment prefix), a database migrated by the suite, two
 * least-privilege roles from `grantsSql`, the service's worker started under the worker role, and the
 * suite's own broker connection to look around. Everything is created on first use and removed by close().
 */
export class ConformanceRun {
  readonly synthetic: SyntheticTasks;
  readonly resultTimeoutMs: number;
  readonly startTimeoutMs: number;
  config!: ToolboxConfig;
  plan!: TopologyPlan;
  prefix!: string;
  workerRole!: string;
  databaseName!: string;
  /** Why a task has no result row and where its message went; ready once the run is prepared. */
  diagnosis!: Diagnosis;
  management: ManagementClient | undefined;
  vhost = "/";

  private servers: ConformanceServers | undefined;
  private local: LocalServers | undefined;
  private database: TestDatabase | undefined;
  private trackerRole: string | undefined;
  /** The service's own config, before the run's namespace and servers are put in. */
  private base: ToolboxConfig | undefined;
  private adminPool: Pool | undefined;
  private connection: ChannelModel | undefined;
  private confirmChannel: ConfirmChannel | undefined;
  private worker: StartedWorker | undefined;
  private ownWorker: Worker | undefined;
  private lateWorker: Promise<StartedWorker | undefined> | undefined;
  private workerClosed = false;
  private producerInstance: Producer | undefined;
  private prepared: Promise<void> | undefined;
  private started: Promise<StartOutcome> | undefined;
  private verified: Promise<VerifyTopologyResult> | undefined;
  private producing: Promise<Producer> | undefined;

  constructor(
    private readonly options: ConformanceOptions,
    readonly service: string,
  ) {
    this.synthetic = new SyntheticTasks(service);
    this.resultTimeoutMs = options.timeouts?.resultMs ?? 10_000;
    this.startTimeoutMs = options.timeouts?.startMs ?? 20_000;
  }

  /** The service's own tasks that belong to it (strays are reported by the contracts cases). */
  get serviceContracts(): AnyTaskContract[] {
    const byName = new Map<string, AnyTaskContract>();
    for (const task of this.options.tasks)
      if (task.contract.service === this.service) byName.set(task.contract.name, task.contract);
    return [...byName.values()];
  }

  get names() {
    return entityNames(this.prefix);
  }

  /** What this run created (once prepared): its prefix, database and roles. */
  get created(): ConformanceRunNames {
    const roles = [this.workerRole, this.trackerRole].filter((role): role is string => Boolean(role));
    return { prefix: this.prefix, database: this.databaseName, roles };
  }

  get serviceQueue(): string {
    return this.names.serviceQueue(this.service);
  }

  prepare(): Promise<void> {
    this.prepared ??= this.doPrepare();
    return this.prepared;
  }

  private async doPrepare(): Promise<void> {
    const { servers, local } = await resolveServers(this.options.servers);
    this.servers = servers;
    this.local = local;
    this.prefix = createTestNamespace(`conf-${this.service}`);
    // AMQP_URL may list a cluster's nodes (one vhost for all).
    const nodes = splitUrlList(servers.amqpUrl);
    this.vhost = vhostOf(nodes[0] ?? servers.amqpUrl);
    const base = baseConfig(this.options, this.service);
    this.base = base;
    const managementUrl = servers.managementUrl ?? base.broker.managementUrl;
    this.management = await reachableManagement(managementUrl, nodes);

    this.database = await createTestDatabase(servers.databaseUrl, `conf_${this.service}`);
    this.databaseName = this.database.name;
    this.adminPool = createDatabasePool(withDatabaseUrl(base, this.database.url), { max: 4 });
    const roles = runRoleNames();
    this.workerRole = roles.workerRole;
    this.trackerRole = roles.trackerRole;
    const workerUrl = await installRunDatabase(
      this.adminPool,
      base.database.schema,
      this.database.url,
      roles,
    );

    this.config = runConfig(base, {
      service: this.service,
      prefix: this.prefix,
      amqpUrl: servers.amqpUrl,
      managementUrl,
      databaseUrl: workerUrl,
    });
    this.plan = planTopology(this.config);
    this.connection = await this.connectBroker(servers.amqpUrl);
    this.diagnosis = new Diagnosis({
      pool: this.adminPool,
      schema: this.config.database.schema,
      connection: this.connection,
      management: this.management,
      vhost: this.vhost,
      serviceQueue: this.serviceQueue,
      deadLetterQueue: this.names.serviceDeadLetterQueue(this.service),
      resultTimeoutMs: this.resultTimeoutMs,
      ownWorker: () => this.ownWorker,
    });
  }

  /**
   * The suite's own connection: the first node of AMQP_URL that answers (TCP_NODELAY on: the cases publish
   * one message and wait for its outcome; Nagle would add 40 ms to each).
   */
  private async connectBroker(amqpUrl: string): Promise<ChannelModel> {
    const { connection } = await connectAnyNode(this.config, { name: "worker-toolbox conformance" }).catch(
      (error: unknown) => {
        throw new ConformanceFailure(
          `Cannot connect to RabbitMQ at ${maskUrl(amqpUrl)}: ${firstLine(error)}`,
          "start RabbitMQ or point AMQP_URL at it",
        );
      },
    );
    connection.on("error", () => undefined);
    return connection;
  }

  /** Start the service's worker once; the outcome is shared by every case that needs it. */
  startWorker(): Promise<StartOutcome> {
    this.started ??= this.prepare().then(() => this.doStart());
    return this.started;
  }

  private async doStart(): Promise<StartOutcome> {
    const tasks = [...this.options.tasks, ...this.synthetic.implementations];
    const input = { config: this.config, tasks };
    let starting: Promise<StartedWorker>;
    if (this.options.startWorker) {
      starting = Promise.resolve().then(() => this.options.startWorker!(input));
    } else {
      starting = Promise.resolve().then(async () => {
        this.ownWorker = createWorker(input);
        await this.ownWorker.start();
        return this.ownWorker;
      });
    }
    try {
      this.worker = await raceDeadline(
        starting,
        this.startTimeoutMs,
        () =>
          new Error(
            `the worker did not report ready within ${this.startTimeoutMs} ms (startWorker never resolved)`,
          ),
      );
      return { ok: true };
    } catch (error) {
      // A start that resolves after the timeout still has to be closed at the end.
      this.lateWorker = starting.catch(() => undefined);
      await this.ownWorker?.close({ graceMs: 0 }).catch(() => undefined);
      this.workerClosed = this.ownWorker !== undefined;
      return { ok: false, error: error as Error };
    }
  }

  /** Close the worker; resolves when close() did (the shutdown case times it). */
  async closeWorker(): Promise<void> {
    if (this.workerClosed || !this.worker) return;
    this.workerClosed = true;
    await this.worker.close();
  }

  verify(): Promise<VerifyTopologyResult> {
    this.verified ??= this.prepare().then(() =>
      verifyTopology({
        plan: this.plan,
        connection: this.connection!,
        managementUrl: this.config.broker.managementUrl ?? false,
        vhost: this.vhost,
      }),
    );
    return this.verified;
  }

  /** Exchanges and bindings of this run's namespace, from the management API. */
  async routingSnapshot() {
    const client = this.requireManagement("check routing");
    const inRun = (name: string) => name.startsWith(`${this.prefix}.`);
    const [exchanges, bindings] = await Promise.all([
      client.listExchanges(this.vhost),
      client.listBindings(this.vhost),
    ]);
    return {
      exchanges: exchanges.filter((item) => inRun(item.name)),
      bindings: bindings.filter((item) => inRun(item.source)),
    };
  }

  requireManagement(what: string): ManagementClient {
    if (this.management) return this.management;
    throw new ConformanceFailure(
      `Cannot ${what}: the RabbitMQ management API is not reachable (AMQP cannot list bindings).`,
      "enable the rabbitmq_management plugin and set RABBITMQ_MANAGEMENT_URL or WT_BROKER_MANAGEMENT_URL",
    );
  }

  /** A producer for the service's and the synthetic contracts, created on first use (it declares topology). */
  producer(): Promise<Producer> {
    this.producing ??= (async () => {
      this.producerInstance = createProducer({
        config: this.config,
        contracts: [...this.serviceContracts, ...this.synthetic.contracts],
        name: `conformance:${this.service}`,
      });
      await this.producerInstance.ready(this.startTimeoutMs);
      return this.producerInstance;
    })();
    return this.producing;
  }

  /** Wait for a final row (SUCCESS, FAILURE, REVOKED); undefined on timeout. */
  async finalRow(taskId: string, timeoutMs = this.resultTimeoutMs): Promise<TaskView | undefined> {
    try {
      return await waitForResult(this.adminPool!, this.config.database.schema, taskId, { timeoutMs });
    } catch (error) {
      if (isToolboxError(error, "RESULT_TIMEOUT")) return undefined;
      throw error;
    }
  }

  /** The database roles that wrote result rows, with how many writes each (see `writerAuditSql`). */
  async resultWriters(): Promise<Map<string, number>> {
    return resultWriters(this.adminPool!, this.config.database.schema);
  }

  /** Publish raw bytes to the task exchange and wait for the broker's confirm. */
  async publishRaw(routingKey: string, content: Buffer, properties: amqp.Options.Publish): Promise<void> {
    if (!this.confirmChannel) {
      this.confirmChannel = await this.connection!.createConfirmChannel();
      this.confirmChannel.on("error", () => undefined);
    }
    this.confirmChannel.publish(this.names.exchange, routingKey, content, properties);
    await this.confirmChannel.waitForConfirms();
  }

  /** Remove everything the run created; collects every cleanup failure into one error. */
  async close(): Promise<void> {
    const problems: string[] = [];
    const step = async (what: string, fn: () => Promise<unknown> | undefined) => {
      try {
        await fn();
      } catch (error) {
        problems.push(`${what}: ${firstLine(error)}`);
      }
    };
    this.synthetic.releaseAll();
    await step("close the worker", () => withDeadline(this.closeWorker(), 30_000, "worker.close()"));
    await step("close a worker that started late", async () => {
      if (!this.lateWorker) return;
      const late = await withDeadline(this.lateWorker, 5_000, "the timed-out startWorker()");
      await late?.close();
    });
    await step("close the producer", () => this.producerInstance?.close());
    await step("close the suite's broker connection", () => this.connection?.close());
    await step("close the database pool", () => this.adminPool?.end());
    await step("drop the database", () => this.database?.drop());
    await step("drop the roles", () => this.dropRoles());
    if (this.prefix && this.servers) {
      const managementUrl = this.config?.broker.managementUrl;
      await step("delete the namespace", () =>
        this.management && managementUrl
          ? deleteNamespace(managementUrl, this.prefix, { vhost: this.vhost })
          : this.deletePlannedEntities(),
      );
    }
    await step("stop the local servers", () => this.local?.stop());
    if (problems.length > 0)
      throw new Error(`The conformance run did not clean up:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }

  private async dropRoles(): Promise<void> {
    const config = this.config ?? this.base;
    if (!this.workerRole || !this.servers || !config) return;
    await dropRunRoles(config, this.servers.databaseUrl, [this.workerRole, this.trackerRole]);
  }

  /** Without the management API: delete the planned entities over AMQP. */
  private async deletePlannedEntities(): Promise<void> {
    if (!this.plan || !this.servers) return;
    if (!this.config) return;
    const { connection } = await connectAnyNode(this.config, { name: "worker-toolbox conformance" });
    try {
      const channel = await connection.createChannel();
      for (const queue of this.plan.queues) await channel.deleteQueue(queue.name);
      for (const exchange of this.plan.exchanges) await channel.deleteExchange(exchange.name);
    } finally {
      await connection.close().catch(() => undefined);
    }
  }
}
