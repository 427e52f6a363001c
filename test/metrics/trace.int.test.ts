import { defineTask, entityNames } from "@worker-toolbox/config";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createProducer } from "../../packages/runtime/src/producer/index.js";
import type { Producer } from "../../packages/runtime/src/producer/types.js";
import { parseTraceparent } from "../../packages/runtime/src/protocol/index.js";
import { createWorker, implementTask, type Worker } from "../../packages/runtime/src/worker/index.js";
import { SERVICE } from "../fixtures/workers/tasks.js";
import { testServers } from "../support/servers.js";
import { createHarness, type Harness, testLogger } from "../worker/harness.js";

const traceRoot = defineTask({ name: `${SERVICE}.traceRoot`, result: z.string() });
const traceLeaf = defineTask({ name: `${SERVICE}.traceLeaf`, result: z.null() });
const traceFlaky = defineTask({ name: `${SERVICE}.traceFlaky`, result: z.null(), retry: { maxAttempts: 2 } });

interface LogLine {
  msg: string;
  taskId?: string;
  rootId?: string;
  traceId?: string;
}

let h: Harness;
let worker: Worker;
let producer: Producer;
const lines: LogLine[] = [];
const rawLines: string[] = [];
let captureQueue: string;

beforeAll(async () => {
  h = await createHarness("trace", testServers());
  const logger = pino(
    { level: "info" },
    {
      write: (line: string) => {
        rawLines.push(line);
        lines.push(JSON.parse(line) as LogLine);
      },
    },
  );
  worker = createWorker({
    config: h.config,
    logger,
    tasks: [
      implementTask(traceRoot, async (_input, ctx) => {
        ctx.logger.info("root ran");
        return (await ctx.send(traceLeaf, [])).id;
      }),
      implementTask(traceLeaf, (_input, ctx) => {
        ctx.logger.info("leaf ran");
        return null;
      }),
      implementTask(traceFlaky, (_input, ctx) => {
        if (ctx.retries === 0) throw new Error("first attempt fails");
        return null;
      }),
    ],
  });
  await worker.start();
  producer = createProducer({
    config: h.config,
    contracts: [traceRoot, traceLeaf, traceFlaky],
    logger: testLogger,
  });
  await producer.ready(30_000);
  // A copy of every follow-up message, to read its headers.
  const channel = await h.channel();
  captureQueue = (await channel.assertQueue("", { exclusive: true })).queue;
  await channel.bindQueue(captureQueue, entityNames(h.prefix).exchange, traceLeaf.name);
});

afterAll(async () => {
  await producer?.close();
  await worker?.close({ graceMs: 1_000 });
  await h?.close();
});

async function runRoot(trace: { traceparent?: string; tracestate?: string } = {}) {
  const root = await producer.send(traceRoot, [], undefined, trace);
  const row = await h.waitForStatus(root.id, "SUCCESS");
  const leafId = row.result_json as string;
  await h.waitForStatus(leafId, "SUCCESS");
  const logOf = (msg: string, taskId: string) =>
    lines.find((line) => line.msg === msg && line.taskId === taskId);
  const channel = await h.channel();
  const copy = await channel.get(captureQueue, { noAck: true });
  if (!copy) throw new Error("the follow-up message was not captured");
  expect(copy.properties.headers?.id).toBe(leafId);
  return {
    root,
    leafId,
    rootLog: logOf("root ran", root.id),
    leafLog: logOf("leaf ran", leafId),
    leafHeader: copy.properties.headers?.traceparent as string,
    leafState: copy.properties.headers?.tracestate as unknown,
  };
}

describe("trace context", () => {
  it("a task's logs carry the incoming trace id; ctx.send passes the same trace id with a new span id, and the tracestate", async () => {
    const incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const tracestate = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7";
    const { root, leafId, rootLog, leafLog, leafHeader, leafState } = await runRoot({
      traceparent: incoming,
      tracestate,
    });
    expect(String(leafState)).toBe(tracestate);
    expect(rootLog).toMatchObject({
      taskId: root.id,
      rootId: root.id,
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    });
    expect(leafLog).toMatchObject({
      taskId: leafId,
      rootId: root.id,
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    });
    // Each binding once: pino repeats a key that a child logger binds again.
    const rootRaw = rawLines.find((line) => line.includes('"root ran"') && line.includes(root.id));
    expect(rootRaw?.match(/"service":/g)).toEqual(['"service":']);
    const leaf = parseTraceparent(leafHeader);
    expect(leaf).toMatchObject({ traceId: "4bf92f3577b34da6a3ce929d0e0e4736", flags: "01" });
    expect(leaf?.spanId).not.toBe("00f067aa0ba902b7");
  });

  it("a task sent without trace context starts a trace named after its root task id", async () => {
    const { root, leafLog, rootLog, leafHeader, leafState } = await runRoot();
    expect(leafState).toBeUndefined();
    const traceId = root.id.replaceAll("-", "");
    expect(rootLog?.traceId).toBe(traceId);
    expect(leafLog?.traceId).toBe(traceId);
    expect(parseTraceparent(leafHeader)?.traceId).toBe(traceId);
  });

  it("the worker's own log lines about a task (retry scheduled) carry its trace id", async () => {
    const incoming = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const sent = await producer.send(traceFlaky, [], undefined, { traceparent: incoming });
    await h.waitForStatus(sent.id, "SUCCESS");
    expect(
      lines.find((line) => line.msg === "task failed; retry scheduled" && line.taskId === sent.id),
    ).toMatchObject({
      traceId: "0af7651916cd43dd8448eb211c80319c",
    });
  });
});
