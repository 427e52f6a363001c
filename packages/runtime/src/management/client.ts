import { brokerUrls, splitUrlList, type ToolboxConfig } from "@worker-toolbox/config";
import { vhostOf } from "../broker/classifyError.js";
import { ManagementHttp } from "./http.js";

/**
 * A small client for the RabbitMQ management HTTP API: what AMQP cannot tell (bindings, queue depth and
 * consumers, vhosts). Used by `verifyTopology`, the monitor and the doctor. Credentials come from the URL
 * and travel in a Basic auth header (fetch refuses URLs with credentials); every error masks them.
 */
export interface ManagementClientOptions {
  /**
   * `http://user:pass@host:15672/` (a path prefix such as `/rabbitmq/` is kept). For a cluster, the API of
   * each node (`managementUrls(config)`): a request that cannot reach one node goes to the next, and the
   * client stays with the node that answered. Every node's API shows the whole cluster.
   */
  url: string | readonly string[];
  /** Per-request deadline; default 5000 ms. */
  timeoutMs?: number;
}

export interface QueueInfo {
  name: string;
  vhost: string;
  type: string;
  durable: boolean;
  exclusive: boolean;
  arguments: Record<string, unknown>;
  /** Keys of the policy in effect (e.g. `delivery-limit`, `ha-mode`), when one applies. */
  policyKeys: string[];
  /** Ready + unacknowledged; undefined until the broker has sampled the queue once. */
  messages: number | undefined;
  messagesReady: number | undefined;
  messagesUnacknowledged: number | undefined;
  consumers: number;
  /**
   * Timestamp property (seconds) of the message at the head of the queue: classic queues only, and only
   * when messages carry a `timestamp`; undefined otherwise.
   */
  headMessageTimestamp: number | undefined;
  /** Messages per second over the broker's last sample window; undefined before any traffic. */
  rates: QueueRates;
  /** The node the queue lives on (classic) or its leader's node (quorum); undefined when not reported. */
  node: string | undefined;
  /** Quorum queues: the nodes holding a replica, and those of them that are running it now. */
  members: string[] | undefined;
  online: string[] | undefined;
}

export interface QueueRates {
  publish: number | undefined;
  /** Deliveries to consumers plus basic.get. */
  deliver: number | undefined;
  ack: number | undefined;
}

export interface ExchangeInfo {
  name: string;
  vhost: string;
  type: string;
  durable: boolean;
  arguments: Record<string, unknown>;
}

export interface BindingInfo {
  source: string;
  destination: string;
  destinationType: "queue" | "exchange";
  routingKey: string;
  arguments: Record<string, unknown>;
}

export interface ManagementClient {
  /** The URL with the password masked, for messages. */
  readonly displayUrl: string;
  /** Fails with BROKER_UNAVAILABLE / BROKER_AUTH_FAILED when the API cannot be used. */
  overview(): Promise<{ rabbitmqVersion: string; managementVersion: string; erlangVersion: string }>;
  /** Any other GET of the API (`api/nodes`…), parsed; undefined for a 404. */
  getJson<T>(path: string): Promise<T | undefined>;
  listQueues(vhost?: string): Promise<QueueInfo[]>;
  /** undefined when the queue does not exist. */
  getQueue(vhost: string, name: string): Promise<QueueInfo | undefined>;
  listExchanges(vhost?: string): Promise<ExchangeInfo[]>;
  /** Bindings from `exchange` to `queue` (empty when there are none or either side is missing). */
  bindingsBetween(vhost: string, exchange: string, queue: string): Promise<BindingInfo[]>;
  listBindings(vhost?: string): Promise<BindingInfo[]>;
  createVhost(vhost: string, options?: { grantTo?: string }): Promise<void>;
  /** Deleting a vhost that does not exist is not an error. */
  deleteVhost(vhost: string): Promise<void>;
}

export function createManagementClient(options: ManagementClientOptions): ManagementClient {
  const http = new ManagementHttp(options);
  const call = http.call.bind(http);
  const json = http.json.bind(http);
  const httpError = http.error.bind(http);
  const node = () => http.node;
  const v = (vhost: string) => encodeURIComponent(vhost);

  return {
    get displayUrl() {
      return node().displayUrl;
    },
    async overview() {
      const data = (await json<RawOverview>("api/overview"))!;
      return {
        rabbitmqVersion: data.rabbitmq_version ?? "",
        managementVersion: data.management_version ?? "",
        erlangVersion: data.erlang_version ?? "",
      };
    },
    getJson<T>(path: string) {
      return json<T>(path, true);
    },
    async listQueues(vhost) {
      const path = vhost === undefined ? "api/queues" : `api/queues/${v(vhost)}`;
      return ((await json<RawQueue[]>(path)) ?? []).map(toQueue);
    },
    async getQueue(vhost, name) {
      const raw = await json<RawQueue>(`api/queues/${v(vhost)}/${encodeURIComponent(name)}`, true);
      return raw && toQueue(raw);
    },
    async listExchanges(vhost) {
      const path = vhost === undefined ? "api/exchanges" : `api/exchanges/${v(vhost)}`;
      return ((await json<RawExchange[]>(path)) ?? []).map((raw) => ({
        name: raw.name,
        vhost: raw.vhost,
        type: raw.type,
        durable: raw.durable,
        arguments: raw.arguments ?? {},
      }));
    },
    async bindingsBetween(vhost, exchange, queue) {
      const path = `api/bindings/${v(vhost)}/e/${encodeURIComponent(exchange)}/q/${encodeURIComponent(queue)}`;
      return ((await json<RawBinding[]>(path, true)) ?? []).map(toBinding);
    },
    async listBindings(vhost) {
      const path = vhost === undefined ? "api/bindings" : `api/bindings/${v(vhost)}`;
      return ((await json<RawBinding[]>(path)) ?? []).map(toBinding);
    },
    async createVhost(vhost, options = {}) {
      const path = `api/vhosts/${v(vhost)}`;
      const response = await call("PUT", path, {});
      if (!response.ok) throw httpError("PUT", path, response.status, await response.text());
      const grantee = options.grantTo ?? node().user;
      const permissions = `api/permissions/${v(vhost)}/${encodeURIComponent(grantee)}`;
      const granted = await call("PUT", permissions, { configure: ".*", write: ".*", read: ".*" });
      if (!granted.ok) throw httpError("PUT", permissions, granted.status, await granted.text());
    },
    async deleteVhost(vhost) {
      const path = `api/vhosts/${v(vhost)}`;
      const response = await call("DELETE", path);
      if (!response.ok && response.status !== 404)
        throw httpError("DELETE", path, response.status, await response.text());
    },
  };
}

/** One node's API: its base URL without credentials, the Basic auth header value, the masked URL. */
/**
 * The management API of every broker node: `broker.managementUrl` when set (one URL, e.g. a load balancer,
 * or a comma-separated list), else one per node of `broker.url`, derived as below. Hand the list to `createManagementClient`.
 */
export function managementUrls(config: ToolboxConfig): string[] {
  if (config.broker.managementUrl) return splitUrlList(config.broker.managementUrl);
  return brokerUrls(config).map((url) => deriveManagementUrl(url));
}

/** The vhost the config's broker URLs name (the same on every node). */
export function configVhost(config: ToolboxConfig): string {
  return vhostOf(brokerUrls(config)[0] ?? "");
}

/**
 * The management URL to use: the configured one, else the broker host on port 15672 (https and 15671
 * for amqps) with the broker's credentials.
 */
export function deriveManagementUrl(amqpUrl: string, configured?: string): string {
  if (configured) return configured;
  // The first node of a list: its API shows the whole cluster (managementUrls gives one per node).
  const broker = new URL(splitUrlList(amqpUrl)[0] ?? amqpUrl);
  const tls = broker.protocol === "amqps:";
  const url = new URL(`${tls ? "https" : "http"}://${broker.host || "localhost"}/`);
  url.hostname = broker.hostname;
  url.port = tls ? "15671" : "15672";
  url.username = broker.username || "guest";
  url.password = broker.password || "guest";
  return url.toString();
}

interface RawOverview {
  rabbitmq_version?: string;
  management_version?: string;
  erlang_version?: string;
}

interface RawQueue {
  name: string;
  vhost: string;
  type?: string;
  durable: boolean;
  exclusive?: boolean;
  arguments?: Record<string, unknown>;
  effective_policy_definition?: Record<string, unknown> | unknown[];
  messages?: number;
  messages_ready?: number;
  messages_unacknowledged?: number;
  consumers?: number;
  head_message_timestamp?: number | null;
  message_stats?: Record<string, unknown>;
  node?: string;
  leader?: string;
  members?: string[];
  online?: string[];
}

interface RawExchange {
  name: string;
  vhost: string;
  type: string;
  durable: boolean;
  arguments?: Record<string, unknown>;
}

interface RawBinding {
  source: string;
  destination: string;
  destination_type: "queue" | "exchange";
  routing_key: string;
  arguments?: Record<string, unknown>;
}

function toQueue(raw: RawQueue): QueueInfo {
  return {
    name: raw.name,
    vhost: raw.vhost,
    type: raw.type ?? "classic",
    durable: raw.durable,
    exclusive: raw.exclusive === true,
    arguments: raw.arguments ?? {},
    // An empty definition comes as [] from Erlang's JSON encoder.
    policyKeys: Array.isArray(raw.effective_policy_definition)
      ? []
      : Object.keys(raw.effective_policy_definition ?? {}),
    messages: raw.messages,
    messagesReady: raw.messages_ready,
    messagesUnacknowledged: raw.messages_unacknowledged,
    consumers: raw.consumers ?? 0,
    headMessageTimestamp: raw.head_message_timestamp ?? undefined,
    rates: {
      publish: rateOf(raw.message_stats, "publish"),
      deliver: rateOf(raw.message_stats, "deliver_get"),
      ack: rateOf(raw.message_stats, "ack"),
    },
    node: raw.leader ?? raw.node,
    members: raw.members,
    online: raw.online,
  };
}

function toBinding(raw: RawBinding): BindingInfo {
  return {
    source: raw.source,
    destination: raw.destination,
    destinationType: raw.destination_type,
    routingKey: raw.routing_key,
    arguments: raw.arguments ?? {},
  };
}

function rateOf(stats: Record<string, unknown> | undefined, key: string): number | undefined {
  const rate = (stats?.[`${key}_details`] as { rate?: unknown } | undefined)?.rate;
  return typeof rate === "number" ? rate : undefined;
}
