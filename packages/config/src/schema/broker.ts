import { z } from "zod";
import { doc, positiveInt } from "./doc.js";
import { amqpUrlList, httpUrlList } from "./urls.js";

/** `broker.*`: the RabbitMQ connection (URLs of a cluster's nodes, failover, TLS, heartbeats, reconnects). */
export const brokerSchema = z.strictObject({
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
      certFile: doc(z.string().optional(), "PEM client certificate for mutual TLS.", "/etc/ssl/client.pem"),
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
  allowPlaintext: doc(
    z.boolean().default(false),
    "In production mode a broker URL to a host other than this machine (loopback) must be amqps:// (and a " +
      "configured managementUrl https://): " +
      "credentials and task arguments would otherwise cross the network in the clear, and the config is " +
      "refused. Set true only when the network itself encrypts the connection (a service mesh with mutual " +
      "TLS, a VPN); `worker-toolbox doctor` keeps warning about it. No effect outside production mode.",
    false,
  ),
  heartbeatSeconds: doc(
    z.number().int().min(0).max(600).default(30),
    "AMQP heartbeat interval; a dead connection is noticed after about twice this. 0 turns heartbeats off (amqplib 2; before, 0 took the broker's value).",
    30,
  ),
  connectTimeoutMs: doc(positiveInt().default(10_000), "How long one connection attempt may take.", 10000),
  reconnectInitialDelayMs: doc(
    positiveInt().default(500),
    "First reconnect delay (exponential backoff with jitter).",
    500,
  ),
  reconnectMaxDelayMs: doc(positiveInt().default(30_000), "Largest reconnect delay.", 30000),
});
