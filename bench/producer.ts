/**
 * Producer send throughput with publisher confirms, against a raw amqplib ConfirmChannel publishing the
 * same messages (same bytes, same properties, mandatory) in the same process and run, against the built
 * packages (the code production runs). Each round runs every pipeline once, in an order that rotates,
 * so broker warm-up and queue state hit all alike; the ratio is the median of the per-round ratios
 * (each round's pipelines ran within seconds of each other, so a slow phase of a shared machine hits
 * both sides of a ratio), next to the median rates.
 *
 *   npm run build && npx tsx bench/producer.ts
 *   BENCH_PRODUCER_COUNT=20000 BENCH_PRODUCER_ROUNDS=9 BENCH_PRODUCER_QUEUE=classic ...
 * Uses AMQP_URL when set, else starts a throwaway broker.
 *
 * Two producer pipelines: `send()` called for every message in one synchronous loop, then awaited (every
 * call is validated and encoded before the event loop turns, so amqplib writes nothing until the loop
 * ends), and `sendMany()` with all messages (encodes a call only when the socket has room, as the raw loop
 * does by waiting for 'drain'). Two raw baselines: encoding each message in the loop with the same Celery codec (like for like: what the
 * producer adds is contract validation, confirm bookkeeping and the state machine), and publishing bytes
 * encoded before the clock started (amqplib and the broker alone).
 */
import { defineTask, parseConfig, type QueueType } from "@worker-toolbox/config";
import { createProducer, type Producer } from "@worker-toolbox/runtime";
import { prepareSend } from "@worker-toolbox/runtime/protocol";
import { createTestNamespace, deleteNamespace, startLocalServers } from "@worker-toolbox/testing";
import amqp from "amqplib";
import { pino } from "pino";
import { z } from "zod";
import { median } from "./stats.js";

const exportProject = defineTask({
  name: "bench.export",
  args: z.tuple([z.string().uuid(), z.number().int()]),
  kwargs: z.strictObject({ format: z.enum(["csv", "xlsx"]) }),
  result: z.null(),
});
const PROJECT = "2f1c7e4e-8d9a-4c56-9a53-1d6d3f0f2f10";

export interface ProducerBenchResult {
  queueType: QueueType;
  count: number;
  /** Raw amqplib, encoding each message in the loop with the same codec. */
  rawPerSecond: number;
  /** Raw amqplib publishing bytes encoded before the timing started. */
  rawPreEncodedPerSecond: number;
  /** `producer.send()` called in a loop for every message, then awaited together. */
  producerPerSecond: number;
  /** `producer.sendMany()` with all messages. */
  sendManyPerSecond: number;
  /** Median over rounds of producer (send loop) / raw within the round. */
  ratio: number;
  ratioPreEncoded: number;
  /** Median over rounds of sendMany / raw within the round. */
  sendManyRatio: number;
  /** Every round's send-loop / raw and sendMany / raw, in round order. */
  roundRatios: { send: number; sendMany: number }[];
}

/** What every pipeline of a run shares: the servers, the producer, a raw confirm channel on the same broker. */
interface Bench {
  count: number;
  config: ReturnType<typeof parseConfig>;
  producer: Producer;
  raw: amqp.ConfirmChannel;
  exchange: string;
  /** Empty the queues between runs. */
  purge(): Promise<void>;
  close(): Promise<void>;
}

async function openBench(count: number, queueType: QueueType): Promise<Bench> {
  const servers = await startLocalServers();
  const prefix = createTestNamespace("bprod");
  const config = parseConfig({
    environment: { prefix },
    broker: { url: servers.amqpUrl },
    queue: { type: queueType, delayRungsMs: [1_000] },
    producer: { publishTimeoutMs: 60_000 },
  });
  const producer = createProducer({ config, contracts: [exportProject], logger: pino({ level: "silent" }) });
  await producer.ready(30_000);

  const connection = await amqp.connect(servers.amqpUrl);
  const raw = await connection.createConfirmChannel();
  const admin = await connection.createChannel();
  const purge = async () => {
    await admin.purgeQueue(`${prefix}.bench`);
    await admin.purgeQueue(`${prefix}.platform`);
  };
  const close = async () => {
    await producer.close();
    await connection.close();
    if (servers.managementUrl) await deleteNamespace(servers.managementUrl, prefix);
    await servers.stop();
  };
  return { count, config, producer, raw, exchange: `${prefix}.tasks`, purge, close };
}

/**
 * `encodeInLoop`: build each Celery message inside the timed loop with the same codec, as any publisher
 * of Celery messages must (the like-for-like baseline); otherwise publish bytes encoded beforehand (the
 * ceiling of amqplib and the broker alone).
 */
async function runRaw(bench: Bench, encodeInLoop: boolean): Promise<number> {
  const { count, raw, exchange } = bench;
  // The same message the producer sends, byte for byte: same codec, same headers (traceparent
  // included) and the publish id the confirm publisher sets as messageId.
  const build = (i: number) => {
    const { request } = prepareSend(
      exportProject,
      [PROJECT, i],
      { format: "csv" },
      {},
      {
        exchange,
        maxBytes: bench.config.limits.maxMessageBytes,
      },
    );
    return { content: request.content, properties: { ...request.properties, messageId: `raw:${i}` } };
  };
  const prebuilt = encodeInLoop ? [] : Array.from({ length: count }, (_, i) => build(i));
  const started = performance.now();
  const confirms: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const { content, properties } = encodeInLoop ? build(i) : prebuilt[i]!;
    let writable = true;
    confirms.push(
      new Promise<void>((resolve, reject) => {
        writable = raw.publish(
          exchange,
          exportProject.name,
          content,
          { ...properties, mandatory: true },
          (error) => (error ? reject(error) : resolve()),
        );
      }),
    );
    // Backpressure, as the producer handles it: wait for the socket to drain.
    if (!writable) await new Promise((drained) => raw.once("drain", drained));
  }
  await Promise.all(confirms);
  return count / ((performance.now() - started) / 1000);
}

async function runProducer({ count, producer }: Bench): Promise<number> {
  const started = performance.now();
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) sends.push(producer.send(exportProject, [PROJECT, i], { format: "csv" }));
  await Promise.all(sends);
  return count / ((performance.now() - started) / 1000);
}

async function runSendMany({ count, producer }: Bench): Promise<number> {
  const started = performance.now();
  const calls = Array.from({ length: count }, (_, i) => ({
    args: [PROJECT, i] as [string, number],
    kwargs: { format: "csv" as const },
  }));
  const outcomes = await producer.sendMany(exportProject, calls);
  const failed = outcomes.find((outcome) => outcome.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return count / ((performance.now() - started) / 1000);
}

const PIPELINES = {
  raw: (bench: Bench) => runRaw(bench, true),
  rawPreEncoded: (bench: Bench) => runRaw(bench, false),
  producer: runProducer,
  sendMany: runSendMany,
};
type RunName = keyof typeof PIPELINES;

/**
 * One untimed warm-up of each, then timed rounds whose order rotates: whichever runs first after a purge
 * meets a different broker state. Every pipeline's rate per round, in round order.
 */
async function timedRounds(bench: Bench, rounds: number): Promise<Record<RunName, number[]>> {
  for (const run of Object.values(PIPELINES)) await run(bench);
  await bench.purge();
  const rates: Record<RunName, number[]> = { raw: [], rawPreEncoded: [], producer: [], sendMany: [] };
  const names = Object.keys(PIPELINES) as RunName[];
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(round + k) % names.length]!;
      rates[name].push(await PIPELINES[name](bench));
      await bench.purge();
    }
  }
  if (process.env.BENCH_VERBOSE) {
    const show = (rates: number[]) => rates.map((rate) => Math.round(rate)).join(", ");
    for (const name of names) console.log(`${name} rounds: ${show(rates[name])}`);
  }
  return rates;
}

function summary(rates: Record<RunName, number[]>, queueType: QueueType, count: number): ProducerBenchResult {
  const perRound = (name: RunName, base: RunName) =>
    rates[name].map((rate, round) => rate / rates[base][round]!);
  return {
    queueType,
    count,
    rawPerSecond: median(rates.raw),
    rawPreEncodedPerSecond: median(rates.rawPreEncoded),
    producerPerSecond: median(rates.producer),
    sendManyPerSecond: median(rates.sendMany),
    ratio: median(perRound("producer", "raw")),
    ratioPreEncoded: median(perRound("producer", "rawPreEncoded")),
    sendManyRatio: median(perRound("sendMany", "raw")),
    roundRatios: perRound("producer", "raw").map((send, round) => ({
      send,
      sendMany: perRound("sendMany", "raw")[round]!,
    })),
  };
}

export async function benchProducer(
  options: { count?: number; rounds?: number; queueType?: QueueType } = {},
): Promise<ProducerBenchResult> {
  const count = options.count ?? Number(process.env.BENCH_PRODUCER_COUNT ?? 20_000);
  const rounds = options.rounds ?? Number(process.env.BENCH_PRODUCER_ROUNDS ?? 9);
  const queueType = options.queueType ?? ((process.env.BENCH_PRODUCER_QUEUE as QueueType) || "quorum");
  const bench = await openBench(count, queueType);
  const rates = await timedRounds(bench, rounds);
  await bench.close();
  return summary(rates, queueType, count);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await benchProducer();
  console.log(
    `producer send with confirms (${result.queueType} queues, ${result.count} messages, median of rounds): ` +
      `raw amqplib ${Math.round(result.rawPerSecond)}/s, raw pre-encoded ${Math.round(result.rawPreEncodedPerSecond)}/s, ` +
      `send() loop ${Math.round(result.producerPerSecond)}/s, sendMany ${Math.round(result.sendManyPerSecond)}/s; ` +
      `per-round median ratios: send() loop / raw ${(result.ratio * 100).toFixed(1)}%, ` +
      `sendMany / raw ${(result.sendManyRatio * 100).toFixed(1)}%, send() loop / raw pre-encoded ${(result.ratioPreEncoded * 100).toFixed(1)}%`,
  );
}
