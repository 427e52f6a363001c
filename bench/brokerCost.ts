/**
 * What a message's shape costs RabbitMQ: N 1 KB task messages published with confirms (plain amqplib, a
 * ConfirmChannel waiting for confirms every 1,000, as bench/e2e/raw.mjs) to the toolbox's topology (the
 * exchange, the quorum service queue and the quorum platform copy) on a throwaway node, for message variants
 * that differ only in their properties and headers; the node's CPU (beam.smp and its children, /proc) in the
 * window from the first publish to the last confirm (and, with BROKER_COST_CONSUME=on, until a consumer on the
 * service queue acked every message, as the worker does in the e2e run), in µs per message.
 * Variants run interleaved (the order rotates every round), queues purged between runs; medians and spread.
 *
 *   npm run build && flock /work/wt/.bench.lock npx tsx bench/brokerCost.ts
 * Env: BROKER_COST_VARIANTS (comma list, default all), BROKER_COST_COUNT (10000), BROKER_COST_ROUNDS (5),
 * BROKER_COST_PAYLOAD (1024 bytes), BROKER_COST_CONSUME (on|off, default off), AMQP_URL is ignored (always
 * a throwaway node, so nothing else runs on it), BROKER_COST_CONF (rabbitmq.conf lines, ';'-separated, added
 * before the runs: what a server setting changes), BROKER_COST_EVAL (an Erlang expression `rabbitmqctl eval`
 * runs on the node first, e.g. a system_flag).
 */
import { appendFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { defineTask, entityNames, parseConfig, planTopology } from "@worker-toolbox/config";
import { prepareSend } from "@worker-toolbox/runtime/protocol";
import { applyTopology } from "@worker-toolbox/runtime/topology";
import { startRabbitMQ } from "@worker-toolbox/testing";
import amqp, { type Options } from "amqplib";
import { z } from "zod";
import { rootsByCommandLine, treeCpuSeconds } from "./child.js";

const TASK = "bench.payload";
const count = Number(process.env.BROKER_COST_COUNT ?? 10_000);
const rounds = Number(process.env.BROKER_COST_ROUNDS ?? 5);
const payloadBytes = Number(process.env.BROKER_COST_PAYLOAD ?? 1024);
const consume = process.env.BROKER_COST_CONSUME === "on";
const payload = "abcdefghijklmnopqrstuvwxyz0123456789"
  .repeat(Math.ceil(payloadBytes / 36) + 1)
  .slice(0, payloadBytes);

interface Publish {
  content: Buffer;
  properties: Options.Publish;
}

const task = defineTask({ name: TASK, args: z.tuple([z.number().int(), z.string()]), result: z.number() });

/** The toolbox producer's message for task n: what createProducer publishes (framedPublish adds messageId, mandatory). */
function toolbox(n: number, exchange: string): Publish {
  const { request, receipt } = prepareSend(task, [n, payload], {}, {}, { exchange, maxBytes: 1 << 24 });
  return {
    content: request.content,
    properties: { ...request.properties, messageId: receipt.id, mandatory: true },
  };
}

type Headers = Record<string, unknown>;
const withHeaders = (p: Publish, edit: (h: Headers) => Headers): Publish => ({
  content: p.content,
  properties: { ...p.properties, headers: edit({ ...(p.properties.headers as Headers) }) },
});
const without =
  (...names: string[]) =>
  (h: Headers) => {
    for (const name of names) delete h[name];
    return h;
  };
const withoutNulls = (h: Headers) => {
  for (const [k, v] of Object.entries(h)) if (v === null) delete h[k];
  return h;
};
const withoutProperty = (p: Publish, name: keyof Options.Publish): Publish => {
  const properties = { ...p.properties };
  delete properties[name];
  return { content: p.content, properties };
};
const EXTRAS_53 = ["replaced_task_nesting", "stamped_headers", "stamps"];

/** bench/e2e/raw.mjs's message: the same body, 6 headers. */
function raw(p: Publish): Publish {
  const h = p.properties.headers as Headers;
  return {
    content: p.content,
    properties: {
      contentType: "application/json",
      contentEncoding: "utf-8",
      correlationId: h.id as string,
      persistent: true,
      headers: { lang: "js", task: TASK, id: h.id, root_id: h.id, parent_id: null, retries: 0 },
    },
  };
}

const VARIANTS: Record<string, (p: Publish) => Publish> = {
  toolbox: (p) => p,
  // Celery 5.6's three stamping defaults after ignore_result (what the toolbox sent before 2026-12-05 evening).
  "with-5.6-extras": (p) =>
    withHeaders(p, (h) => {
      const { traceparent, ...celery } = h;
      return { ...celery, replaced_task_nesting: 0, stamped_headers: null, stamps: {}, traceparent };
    }),
  "no-nulls": (p) => withHeaders(p, withoutNulls),
  "no-5.3-extras": (p) => withHeaders(p, without(...EXTRAS_53)),
  "no-nulls-no-extras": (p) => withHeaders(p, (h) => withoutNulls(without(...EXTRAS_53)(h))),
  "argsrepr-100": (p) =>
    withHeaders(p, (h) => ({ ...h, argsrepr: `${String(h.argsrepr).slice(0, 96)}...)` })),
  "no-reprs": (p) => withHeaders(p, without("argsrepr", "kwargsrepr")),
  "no-traceparent": (p) => withHeaders(p, without("traceparent")),
  // Every header value a string of the same length class (is it the count or the types?).
  "all-strings": (p) =>
    withHeaders(p, (h) =>
      Object.fromEntries(Object.entries(h).map(([k, v]) => [k, typeof v === "string" ? v : String(v)])),
    ),
  "no-content-type": (p) => withoutProperty(p, "contentType"),
  "no-content-encoding": (p) => withoutProperty(p, "contentEncoding"),
  "no-correlation-id": (p) => withoutProperty(p, "correlationId"),
  "no-priority": (p) => withoutProperty(p, "priority"),
  "no-message-id": (p) => withoutProperty(p, "messageId"),
  "not-mandatory": (p) => ({ content: p.content, properties: { ...p.properties, mandatory: false } }),
  "6-headers-our-props": (p) => ({
    content: p.content,
    properties: { ...p.properties, headers: raw(p).properties.headers },
  }),
  raw,
  // Is it the number of fields or the bytes? raw's 6 headers padded to the toolbox's size, and 20 tiny ones.
  "6-headers-padded": (p) => {
    const r = raw(p);
    const h = r.properties.headers as Headers;
    const size = (x: Headers) => Buffer.byteLength(JSON.stringify(x));
    const pad = "x".repeat(Math.max(0, size(p.properties.headers as Headers) - size(h)));
    return { content: r.content, properties: { ...r.properties, headers: { ...h, pad } } };
  },
  // The same extra bytes in the body instead of the header table.
  "raw-body-padded": (p) => {
    const r = raw(p);
    const extra =
      Buffer.byteLength(JSON.stringify(p.properties.headers)) -
      Buffer.byteLength(JSON.stringify(r.properties.headers));
    return {
      content: Buffer.concat([r.content, Buffer.alloc(Math.max(0, extra), 32)]),
      properties: r.properties,
    };
  },
  "20-tiny-headers": (p) => {
    const r = raw(p);
    const h = { ...(r.properties.headers as Headers) };
    for (let i = h ? Object.keys(h).length : 0; i < 20; i++) h[`h${i}`] = i;
    return { content: r.content, properties: { ...r.properties, headers: h } };
  },
};

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const load = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const names = (process.env.BROKER_COST_VARIANTS ?? Object.keys(VARIANTS).join(","))
  .split(",")
  .map((s) => s.trim())
  .filter(Boolean);
for (const name of names) if (!(name in VARIANTS)) throw new Error(`unknown variant ${name}`);

const node = await startRabbitMQ();
try {
  // BROKER_COST_CONF: rabbitmq.conf lines (separated by ';') added before a restart: a server setting's cost.
  const extra = (process.env.BROKER_COST_CONF ?? "")
    .split(";")
    .map((s) => s.trim())
    .filter(Boolean);
  if (extra.length > 0) {
    appendFileSync(join(node.dir, "rabbitmq.conf"), `${extra.join("\n")}\n`);
    await node.restart();
    console.log(`rabbitmq.conf + ${extra.join("; ")}`);
  }
  // BROKER_COST_EVAL: an Erlang expression run on the node before anything is declared or connected.
  if (process.env.BROKER_COST_EVAL)
    console.log(
      `eval ${process.env.BROKER_COST_EVAL}: ${(await node.rabbitmqctl(["eval", process.env.BROKER_COST_EVAL])).trim()}`,
    );
  const prefix = "cost";
  const config = parseConfig({
    mode: "production",
    service: "bench",
    environment: { prefix },
    broker: { url: node.url },
    database: { url: "postgres://bench@127.0.0.1/bench" },
  });
  const plan = planTopology(config);
  const connection = await amqp.connect(node.url, { noDelay: true });
  await applyTopology(await connection.createChannel(), plan);
  const { exchange, platformQueue } = entityNames(prefix);
  const serviceQueue = plan.queues.find(
    (q) => q.name !== platformQueue && q.arguments?.["x-queue-type"] === "quorum",
  )!.name;
  const admin = await connection.createChannel();
  const channel = await connection.createConfirmChannel();
  const consumer = consume ? await connection.createChannel() : undefined;
  const beam = rootsByCommandLine(node.dir);
  const cpu = () => beam.reduce((sum, pid) => sum + treeCpuSeconds(pid), 0);
  /** The node's own system (kernel) seconds: what share of its CPU is the kernel's (I/O). */
  const systemCpu = () =>
    beam.reduce((sum, pid) => {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      return sum + Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[12]) / 100;
    }, 0);
  const kernelShare = new Map<string, number[]>(names.map((n) => [n, []]));
  console.log(`node ${node.nodeName} pids ${beam.join(",")}; service queue ${serviceQueue}; load ${load()}`);
  const sample = VARIANTS.toolbox!(toolbox(0, exchange));
  for (const name of names) {
    const p = VARIANTS[name]!(sample);
    const size = Buffer.byteLength(JSON.stringify(p.properties.headers ?? {}));
    console.log(
      `${name.padEnd(20)} headers ${Object.keys(p.properties.headers ?? {}).length}, ~${size} B as JSON`,
    );
  }

  const runOnce = async (name: string): Promise<number> => {
    await admin.purgeQueue(serviceQueue);
    await admin.purgeQueue(platformQueue);
    await sleep(300);
    const variant = VARIANTS[name]!;
    const messages = Array.from({ length: count }, (_, n) => variant(toolbox(n, exchange)));
    let consumed = 0;
    let allConsumed: () => void = () => {};
    const drained = new Promise<void>((resolve) => {
      allConsumed = resolve;
    });
    let tag: string | undefined;
    if (consumer) {
      await consumer.prefetch(500);
      tag = (
        await consumer.consume(serviceQueue, (m) => {
          if (!m) return;
          consumed++;
          if (consumed % 100 === 0 || consumed === count) consumer.ack(m, true);
          if (consumed === count) allConsumed();
        })
      ).consumerTag;
    }
    const before = cpu();
    const systemBefore = systemCpu();
    for (let n = 0; n < count; n++) {
      const { content, properties } = messages[n]!;
      if (!channel.publish(exchange, TASK, content, properties))
        await new Promise((resolve) => channel.once("drain", resolve));
      if (n % 1000 === 999) await channel.waitForConfirms();
    }
    await channel.waitForConfirms();
    if (consumer) await drained;
    const after = cpu();
    kernelShare.get(name)?.push(((systemCpu() - systemBefore) * 1e6) / count);
    if (consumer && tag) await consumer.cancel(tag);
    return ((after - before) * 1e6) / count;
  };

  await runOnce("toolbox"); // warm-up
  const results = new Map<string, number[]>(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(r + k) % names.length]!;
      results.get(name)!.push(await runOnce(name));
    }
    console.log(`round ${r + 1} done, load ${load()}`);
  }
  console.log(
    `\nRabbitMQ CPU µs per message (${count} × ${payloadBytes} B, ${rounds} rounds, consume ${consume ? "on" : "off"}), load at end ${load()}`,
  );
  for (const [name, xs] of results)
    console.log(
      `${name.padEnd(20)} median ${median(xs).toFixed(0).padStart(4)} (kernel ${median(kernelShare.get(name)!).toFixed(0)})  min ${Math.min(
        ...xs,
      )
        .toFixed(0)
        .padStart(4)}  max ${Math.max(...xs)
        .toFixed(0)
        .padStart(4)}  [${xs.map((x) => x.toFixed(0)).join(", ")}]`,
    );
  await connection.close();
} finally {
  await node.stop();
}
