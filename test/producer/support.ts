import { defineTask, parseConfig, type ToolboxConfig, type ToolboxConfigInput } from "@worker-toolbox/config";
import amqp from "amqplib";
import { z } from "zod";

export const placeOrder = defineTask({
  name: "orders.place",
  args: z.tuple([z.number().int().nonnegative()]),
  kwargs: z.strictObject({ note: z.string().optional() }),
  result: z.null(),
});

export const anyPayload = defineTask({
  name: "orders.anything",
  args: z.tuple([z.unknown()]),
  result: z.null(),
});

export const contracts = [placeOrder, anyPayload];

/** A test config: fast reconnects, short deadlines, the given broker and prefix. */
export function producerConfig(
  url: string,
  prefix: string,
  overrides: Partial<Pick<ToolboxConfigInput, "producer" | "queue" | "limits">> = {},
): ToolboxConfig {
  return parseConfig({
    mode: "test",
    environment: { prefix },
    broker: { url, connectTimeoutMs: 3_000, reconnectInitialDelayMs: 100, reconnectMaxDelayMs: 500 },
    queue: { delayRungsMs: [1_000], ...overrides.queue },
    ...(overrides.producer ? { producer: overrides.producer } : {}),
    ...(overrides.limits ? { limits: overrides.limits } : {}),
  });
}

/** Consume everything in `queue` (no ack) and return the task ids (correlation_id) in arrival order. */
export async function drainTaskIds(url: string, queue: string): Promise<string[]> {
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createChannel();
    const { messageCount } = await channel.checkQueue(queue);
    const ids: string[] = [];
    if (messageCount === 0) return ids;
    await channel.prefetch(2_000);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`drained ${ids.length} of ${messageCount} from ${queue}`)),
        60_000,
      );
      void channel.consume(
        queue,
        (message) => {
          if (!message) return;
          ids.push(String(message.properties.correlationId));
          if (ids.length === messageCount) {
            clearTimeout(timer);
            resolve();
          }
        },
        { noAck: true },
      );
    });
    return ids;
  } finally {
    await connection.close().catch(() => undefined);
  }
}

export async function messageCount(url: string, queue: string): Promise<number> {
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createChannel();
    return (await channel.checkQueue(queue)).messageCount;
  } finally {
    await connection.close().catch(() => undefined);
  }
}
