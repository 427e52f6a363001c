import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  createTestDatabase,
  createTestNamespace,
  deleteNamespace,
  type RabbitMQServer,
  startRabbitMQ,
} from "@worker-toolbox/testing";
import amqp from "amqplib";
import { afterAll, describe, expect, it } from "vitest";
import { testClient } from "../support/database.js";
import { testServers } from "../support/servers.js";

const { amqpUrl, databaseUrl, managementUrl } = testServers();

describe("provided test servers", () => {
  it("speak AMQP: declare, publish, get", async () => {
    const ns = createTestNamespace("local-servers");
    const connection = await amqp.connect(amqpUrl);
    try {
      const channel = await connection.createChannel();
      const queue = `${ns}.probe`;
      await channel.assertQueue(queue, { durable: false, autoDelete: true });
      channel.sendToQueue(queue, Buffer.from("hello"));
      let message: amqp.GetMessage | false = false;
      for (let i = 0; i < 50 && !message; i++) {
        message = await channel.get(queue, { noAck: true });
        if (!message) await new Promise((r) => setTimeout(r, 20));
      }
      expect(message === false ? false : message.content.toString()).toBe("hello");
      await channel.deleteQueue(queue);
    } finally {
      await connection.close();
    }
  });

  it("speak PostgreSQL, also to the environment child processes see", async () => {
    expect(process.env.DATABASE_URL).toBe(databaseUrl);
    expect(process.env.AMQP_URL).toBe(amqpUrl);
    const client = testClient(databaseUrl);
    await client.connect();
    const { rows } = await client.query("select 1 as one");
    await client.end();
    expect(rows).toEqual([{ one: 1 }]);
  });

  it("create a test database and drop it even with a connection left open", async () => {
    const db = await createTestDatabase(databaseUrl, "local servers");
    expect(db.name).toMatch(/^wt_local_servers_[0-9a-f]{8}$/);
    const leftOpen = testClient(db.url);
    leftOpen.on("error", () => {});
    await leftOpen.connect();
    await leftOpen.query("create table t (id int primary key)");
    await db.drop();
    await leftOpen.end().catch(() => {});
    const admin = testClient(databaseUrl);
    await admin.connect();
    const { rowCount } = await admin.query("select 1 from pg_database where datname = $1", [db.name]);
    await admin.end();
    expect(rowCount).toBe(0);
  });

  it.skipIf(!managementUrl)("delete a namespace's queues and exchanges, and nothing else", async () => {
    const ns = createTestNamespace();
    const neighbour = `${ns}x`; // shares the prefix text but is another namespace
    const connection = await amqp.connect(amqpUrl);
    try {
      const channel = await connection.createChannel();
      await channel.assertExchange(`${ns}.tasks`, "topic", { durable: true });
      await channel.assertQueue(`${ns}.svc`, { durable: true });
      await channel.bindQueue(`${ns}.svc`, `${ns}.tasks`, "svc.#");
      await channel.assertQueue(`${neighbour}.svc`, { durable: true });
      const deleted = await deleteNamespace(managementUrl!, ns);
      expect(deleted).toEqual({ queues: [`${ns}.svc`], exchanges: [`${ns}.tasks`] });
      await channel.checkQueue(`${neighbour}.svc`);
      await channel.deleteQueue(`${neighbour}.svc`);
      const probe = await connection.createChannel();
      probe.on("error", () => {});
      await expect(probe.checkExchange(`${ns}.tasks`)).rejects.toThrow(/NOT_FOUND/);
    } finally {
      await connection.close();
    }
  });
});

describe("a separately started RabbitMQ node", () => {
  let node: RabbitMQServer | undefined;
  afterAll(async () => {
    await node?.dispose();
    if (node) expect(existsSync(node.dir)).toBe(false);
  });

  it("keeps a durable queue's persistent message across stop() and start()", {
    timeout: 180_000,
  }, async () => {
    node = await startRabbitMQ();
    const queue = "restart.durable";
    const before = await amqp.connect(node.url);
    const channel = await before.createConfirmChannel();
    await channel.assertQueue(queue, { durable: true });
    channel.sendToQueue(queue, Buffer.from("survives"), { persistent: true });
    await channel.waitForConfirms();
    await before.close();

    await node.stop();
    expect(node.running).toBe(false);
    await expect(amqp.connect(node.url)).rejects.toThrow();
    await node.start();
    expect(node.running).toBe(true);

    const after = await amqp.connect(node.url);
    try {
      const ch = await after.createChannel();
      const message = await ch.get(queue, { noAck: true });
      expect(message === false ? false : message.content.toString()).toBe("survives");
    } finally {
      await after.close();
    }
  });
});

describe("clean-up when the test process dies", () => {
  const fixture = fileURLToPath(new URL("./exitCleanup.fixture.ts", import.meta.url));
  const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

  const runFixture = (mode: "exit" | "hang") =>
    new Promise<{ dir: string; pid: number; child: ReturnType<typeof spawn> }>((resolve, reject) => {
      // node itself (not npx) so that SIGKILL hits the process that registered the clean-up.
      const args = ["--import", "tsx", "--conditions=@worker-toolbox/source", fixture, mode];
      const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        const line = out.split("\n").find((l) => l.startsWith("{"));
        if (line) resolve({ ...(JSON.parse(line) as { dir: string; pid: number }), child });
      });
      child.on("exit", (code) => {
        if (!out.includes("{")) reject(new Error(`fixture exited with ${code} before starting: ${out}`));
      });
    });

  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return !/\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
    } catch {
      return false;
    }
  };

  const gone = async (dir: string, pid: number, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && (alive(pid) || existsSync(dir)))
      await new Promise((r) => setTimeout(r, 100));
    return { alive: alive(pid), dirExists: existsSync(dir) };
  };

  it("kills the server and removes its dir on process.exit()", async () => {
    const { dir, pid } = await runFixture("exit");
    expect(await gone(dir, pid, 15_000)).toEqual({ alive: false, dirExists: false });
  });

  it("has a reaper that cleans up after SIGKILL", async () => {
    const { dir, pid, child } = await runFixture("hang");
    expect(alive(pid)).toBe(true);
    child.kill("SIGKILL");
    expect(await gone(dir, pid, 20_000)).toEqual({ alive: false, dirExists: false });
  });
});
