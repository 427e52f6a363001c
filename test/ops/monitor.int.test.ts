import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createTestNamespace, deleteNamespace } from "@worker-toolbox/testing";
import type { ConfirmChannel } from "amqplib";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { testServers } from "../support/servers.js";
import { cli, eventually, logLines } from "./support.js";
import { opsWorld } from "./world.js";

const { managementUrl } = testServers();
const world = opsWorld("ops-monitor", { apply: ["export"] });
const { prefix } = world;
const agedPrefix = createTestNamespace("ops-monitor-age");
let channel: ConfirmChannel;
let hook: Server;
let hookUrl: string;
const received: Record<string, unknown>[] = [];

const env = (overrides: Record<string, string> = {}) => ({
  ...world.env,
  WT_MONITOR_THRESHOLDS_MAX_DEPTH: "5",
  // Nothing consumes in this test: only the depth threshold should fire.
  WT_MONITOR_THRESHOLDS_MIN_CONSUMERS: "0",
  ...overrides,
});

beforeAll(async () => {
  ({ channel } = world);
  hook = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on("end", () => {
      received.push(JSON.parse(body) as Record<string, unknown>);
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, "127.0.0.1", resolve));
  hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/alerts?token=s3cret`;
});

afterAll(async () => {
  await new Promise((resolve) => hook?.close(resolve));
  await deleteNamespace(managementUrl!, agedPrefix);
});

describe("worker-toolbox monitor --once", () => {
  it("exits 0 and logs a sample per queue when nothing is over a threshold", async () => {
    const result = await cli(["monitor", "--once", "--service", "export"], env());
    expect(result.code).toBe(0);
    const samples = logLines(result.stdout).filter((line) => line.event === "queue.sample");
    expect(samples.map((line) => line.queue)).toEqual([
      `${prefix}.export`,
      `${prefix}.export.dead`,
      `${prefix}.platform`,
      `${prefix}.platform.dead`,
    ]);
    expect(samples[0]).toMatchObject({ level: 30, source: "management-api", depth: 0, consumers: 0 });
  });

  it("fires on depth over the threshold: error line, exit 1, webhook POST", async () => {
    for (let i = 0; i < 8; i++) channel.publish(`${prefix}.tasks`, "export.job", Buffer.from("[[], {}, {}]"));
    await channel.waitForConfirms();
    // The management API refreshes queue stats every few seconds.
    const result = await eventually(
      async () => {
        const run = await cli(["monitor", "--once", "--service", "export", "--webhook", hookUrl], env());
        return run.code === 1 ? run : undefined;
      },
      20_000,
      "the depth alarm",
    );
    const alarms = logLines(result.stdout).filter((line) => line.event === "alarm");
    // The platform queue holds a copy of every task, so it is over the threshold too.
    expect(alarms).toEqual([
      expect.objectContaining({
        level: 50,
        alarm: "depth",
        queue: `${prefix}.export`,
        value: 8,
        threshold: 5,
        msg: `${prefix}.export holds 8 messages (more than 5)`,
      }),
      expect.objectContaining({ level: 50, alarm: "depth", queue: `${prefix}.platform`, value: 8 }),
    ]);
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({
      source: "worker-toolbox",
      environment: prefix,
      raised: [
        { key: `depth:${prefix}.export`, kind: "depth", service: "export", value: 8, threshold: 5 },
        { key: `depth:${prefix}.platform`, kind: "depth", service: "platform", value: 8, threshold: 5 },
      ],
      resolved: [],
    });
    expect(result.stdout).not.toContain("s3cret");
  });

  it("counts exactly at once (passive declare), prints JSON for scripts and a table on a terminal", async () => {
    // Three dead letters, and a sample taken right away: the management API has not sampled them yet.
    for (let i = 0; i < 3; i++) channel.publish(`${prefix}.dead`, "export", Buffer.from("[[], {}, {}]"));
    await channel.waitForConfirms();
    onTestFinished(async () => {
      await channel.purgeQueue(`${prefix}.export.dead`);
    });
    const result = await cli(["monitor", "--once", "--json", "--service", "export"], env());
    expect(result.code).toBe(1);
    const ticks = result.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(ticks).toHaveLength(1);
    const dead = ticks[0].snapshot.queues.find((q: { queue: string }) => q.queue === `${prefix}.export.dead`);
    expect(dead).toMatchObject({ exists: true, depth: 3, consumers: 0 });
    expect(ticks[0].alarms).toContainEqual(
      expect.objectContaining({ kind: "dead-letters", queue: `${prefix}.export.dead`, value: 3 }),
    );
    expect(result.stderr).toBe("");

    const human = await cli(["monitor", "--once", "--service", "export"], env(), { stdoutIsTTY: true });
    expect(human.code).toBe(1);
    expect(human.stdout).toContain(`worker-toolbox monitor — environment "${prefix}"`);
    expect(human.stdout).toMatch(/^queue +depth +consumers +in\/s +out\/s +ack\/s +oldest$/m);
    expect(human.stdout).toMatch(new RegExp(`^${prefix}\\.export\\.dead +3 +0 `, "m"));
    expect(human.stdout).toContain(`dead-letters (new): ${prefix}.export.dead holds 3 dead letter(s)`);
    expect(human.stdout).not.toContain('"level"');
  });

  it("falls back to AMQP passive declares when the management API is unreachable", async () => {
    const result = await cli(
      ["monitor", "--once", "--service", "export"],
      env({ RABBITMQ_MANAGEMENT_URL: "http://guest:guest@127.0.0.1:1/" }),
    );
    expect(result.code).toBe(1);
    const lines = logLines(result.stdout);
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 40,
        msg: "management API unavailable: sampling over AMQP (ready depth and consumers only, no rates)",
      }),
    );
    const sample = lines.find((line) => line.event === "queue.sample" && line.queue === `${prefix}.export`);
    expect(sample).toMatchObject({ source: "amqp", depth: 8, consumers: 0 });
    expect(sample).not.toHaveProperty("rates");
    expect(lines.filter((line) => line.event === "alarm").map((line) => line.queue)).toEqual([
      `${prefix}.export`,
      `${prefix}.platform`,
    ]);
  });

  it("measures the oldest message's age on classic queues by peeking, and alarms on it", async () => {
    const aged = (overrides: Record<string, string> = {}) =>
      env({
        WT_ENVIRONMENT_PREFIX: agedPrefix,
        WT_QUEUE_TYPE: "classic",
        WT_MONITOR_THRESHOLDS_MAX_OLDEST_MESSAGE_AGE_MS: "60000",
        RABBITMQ_MANAGEMENT_URL: "http://guest:guest@127.0.0.1:1/", // force the peek path
        ...overrides,
      });
    expect((await cli(["topology", "apply", "--service", "export"], aged())).code).toBe(0);
    const hourAgo = Math.floor(Date.now() / 1000) - 3_600;
    channel.publish(`${agedPrefix}.tasks`, "export.job", Buffer.from("[[], {}, {}]"), { timestamp: hourAgo });
    await channel.waitForConfirms();

    const result = await cli(["monitor", "--once", "--service", "export"], aged());
    expect(result.code).toBe(1);
    const alarm = logLines(result.stdout).find((line) => line.event === "alarm");
    expect(alarm).toMatchObject({
      alarm: "oldest-message-age",
      queue: `${agedPrefix}.export`,
      threshold: 60_000,
    });
    expect(alarm?.value as number).toBeGreaterThanOrEqual(3_600_000);
    // The peek handed the message back.
    expect((await channel.checkQueue(`${agedPrefix}.export`)).messageCount).toBe(1);
  });

  it("rejects a bad --interval or --webhook as a usage error (exit 2)", async () => {
    expect((await cli(["monitor", "--once", "--interval", "0"], env())).code).toBe(2);
    expect((await cli(["monitor", "--once", "--webhook", "ftp://x"], env())).code).toBe(2);
  });
});
