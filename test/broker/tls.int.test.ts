import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig, type ToolboxConfig } from "@worker-toolbox/config";
import {
  createTestDatabase,
  createTestNamespace,
  type RabbitMQServer,
  startRabbitMQ,
  type TestDatabase,
} from "@worker-toolbox/testing";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProducer } from "../../packages/runtime/src/producer/index.js";
import { migrate } from "../../packages/runtime/src/results/migrate.js";
import { waitForResult } from "../../packages/runtime/src/results/readResults.js";
import { createWorker } from "../../packages/runtime/src/worker/index.js";
import { add, contracts, implementations, SERVICE } from "../fixtures/workers/tasks.js";
import { testPool } from "../support/database.js";
import { testServers } from "../support/servers.js";

/**
 * user-pains.md §15: TLS options dropped on the way to the socket, and passwords with URL-special
 * characters that break the URL or leak into logs. This file's own RabbitMQ node listens for AMQP over TLS
 * with a certificate signed by a CA made here (openssl); a user whose password holds `# @ $ % : /` logs in.
 */
const PASSWORD = "p#ss@w$rd%2F:/x";
const logger = pino({ level: "silent" });
const certs = mkdtempSync(join(tmpdir(), "wt-tls-"));
let node: RabbitMQServer;
let database: TestDatabase;

function makeCertificates(): { caFile: string; certFile: string; keyFile: string } {
  const file = (name: string) => join(certs, name);
  const openssl = (args: string[]) => execFileSync("openssl", args, { cwd: certs, stdio: "pipe" });
  openssl(
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=wt test CA"].concat([
      "-keyout",
      file("ca.key"),
      "-out",
      file("ca.pem"),
    ]),
  );
  openssl(
    ["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", file("server.key")].concat([
      "-out",
      file("server.csr"),
    ]),
  );
  execFileSync("sh", ["-c", `printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > ${file("ext.cnf")}`]);
  openssl(
    ["x509", "-req", "-in", file("server.csr"), "-CA", file("ca.pem"), "-CAkey", file("ca.key")].concat([
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      file("ext.cnf"),
      "-out",
      file("server.pem"),
    ]),
  );
  return { caFile: file("ca.pem"), certFile: file("server.pem"), keyFile: file("server.key") };
}

beforeAll(async () => {
  node = await startRabbitMQ({ tls: makeCertificates() });
  await node.rabbitmqctl(["add_user", "odd", PASSWORD]);
  await node.rabbitmqctl(["set_permissions", "-p", "/", "odd", ".*", ".*", ".*"]);
  database = await createTestDatabase(testServers().databaseUrl, "tls");
  const pool = testPool({ connectionString: database.url, max: 1 });
  await migrate(pool, { schema: "public" }).finally(() => pool.end());
}, 180_000);

afterAll(async () => {
  await node?.dispose();
  await database?.drop();
  rmSync(certs, { recursive: true, force: true });
});

/** The odd user's amqps:// URL: the password percent-encoded, as the config docs say. */
function tlsUrl(): string {
  const url = new URL(node.tlsUrl!);
  return `amqps://odd:${encodeURIComponent(PASSWORD)}@${url.host}/`;
}

function config(tls: { caFile?: string }, prefix = createTestNamespace("tls")): ToolboxConfig {
  return parseConfig({
    mode: "test",
    service: SERVICE,
    environment: { prefix },
    broker: { url: tlsUrl(), tls, connectTimeoutMs: 3_000, reconnectInitialDelayMs: 100 },
    database: { url: database.url, poolSize: 2 },
    logLevel: "silent",
  });
}

describe("a broker that speaks only TLS to a user whose password needs encoding", () => {
  it("a producer and a worker connect with broker.tls.caFile; a task runs and its result is stored", async () => {
    const settings = config({ caFile: join(certs, "ca.pem") });
    const worker = createWorker({ config: settings, tasks: implementations, logger });
    const producer = createProducer({ config: settings, contracts, logger });
    const pool = testPool({ connectionString: database.url, max: 2 });
    try {
      await worker.start();
      const { id } = await producer.send(add, [20, 22]);
      const task = await waitForResult(pool, "public", id, { timeoutMs: 20_000 });
      expect(task).toMatchObject({ status: "SUCCESS", result: { value: 42 } });
    } finally {
      await producer.close();
      await worker.close();
      await pool.end();
    }
  });

  it("without the CA the broker's certificate does not verify: BROKER_TLS_FAILED at once, password masked", async () => {
    const producer = createProducer({ config: config({}), contracts, logger });
    const started = Date.now();
    try {
      await expect.poll(() => producer.state, { timeout: 5_000 }).toBe("failed");
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(producer.lastError).toMatchObject({ code: "BROKER_TLS_FAILED" });
      const error = (await producer.send(add, [1, 2]).catch((e: unknown) => e)) as Error;
      expect(error).toMatchObject({ code: "BROKER_TLS_FAILED" });
      expect(error.message).not.toContain(PASSWORD);
      expect(error.message).not.toContain(encodeURIComponent(PASSWORD));
    } finally {
      await producer.close();
    }
  });
});
