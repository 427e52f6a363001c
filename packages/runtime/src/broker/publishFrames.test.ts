import type { Options } from "amqplib";
import { describe, expect, it } from "vitest";
import {
  amqplibModule,
  celeryHeaders as celery,
  celeryProperties,
  celeryTaskId as id,
} from "./amqplibReference.testUtil.js";
import { encodePublish, encodePublishChunks } from "./publishFrames.js";

// amqplib's own encoder: the reference the frames must equal.
const defs = amqplibModule("defs");
const frame = amqplibModule("frame");
const Args = amqplibModule("api_args");

/** What amqplib 2.x writes for `channel.publish(exchange, routingKey, content, options)`. */
function amqplibFrames(channel: number, options: Options.Publish, content: Buffer, frameMax: number): Buffer {
  const fields = Args.publish("wt.tasks", "svc.task", options);
  const parts: Buffer[] = [
    defs.encodeMethod(defs.BasicPublish, channel, fields),
    defs.encodeProperties(defs.BasicProperties, channel, content.length, fields),
  ];
  for (let offset = 0; offset < content.length; offset += frameMax - 8)
    parts.push(frame.makeBodyFrame(channel, content.subarray(offset, offset + frameMax - 8)));
  return Buffer.concat(parts);
}

function ours(channel: number, options: Options.Publish, content: Buffer, frameMax: number): Buffer {
  return encodePublish({
    channel,
    exchange: "wt.tasks",
    routingKey: "svc.task",
    mandatory: options.mandatory === true,
    properties: options,
    content,
    frameMax,
  });
}

/** A Celery message's headers, and every other kind of value a header may hold. */
const celeryHeaders = {
  ...celery,
  traceparent: `00-${id.replaceAll("-", "")}-0123456789abcdef-01`,
};
const oddValues = {
  small: -128,
  short: 300,
  negShort: -32_768,
  int: 70_000,
  negInt: -2_147_483_648,
  long: 2 ** 40,
  negLong: -(2 ** 45),
  double: 1.5,
  tinyDouble: -0.25,
  bigDouble: 2 ** 64,
  yes: true,
  bytes: Buffer.from([0, 1, 255]),
  nested: { list: [1, "two", { three: [null, false] }], empty: [] },
  longText: "x".repeat(300),
  skipped: undefined,
};

const cases: [string, Options.Publish, number][] = [
  [
    "a Celery task message",
    {
      ...celeryProperties,
      headers: celeryHeaders,
      messageId: "producer:1:42",
      mandatory: true,
    },
    60,
  ],
  [
    "every kind of header value, expiration and the other properties",
    {
      headers: { ...celeryHeaders, ...oddValues },
      persistent: false,
      priority: 9,
      expiration: 5000 as unknown as string,
      replyTo: "reply.queue",
      timestamp: 1_765_000_000,
      type: "kind",
      userId: "guest",
      appId: "app",
      messageId: "m",
    },
    200,
  ],
  ["no properties at all (amqplib still sends an empty header table)", {}, 0],
  ["a truthy non-number deliveryMode means persistent", { deliveryMode: true as unknown as number }, 10],
  ["persistent wins over deliveryMode", { persistent: true, deliveryMode: 1 }, 10],
];

describe("encodePublish: the bytes amqplib writes", () => {
  for (const [name, options, bodyBytes] of cases) {
    it(name, () => {
      const content = Buffer.alloc(bodyBytes, "ab");
      expect(ours(7, options, content, 131_072).equals(amqplibFrames(7, options, content, 131_072))).toBe(
        true,
      );
    });
  }

  it("a body longer than a frame is split as amqplib splits it (and a scratch buffer that grew is fine after)", () => {
    const options = cases[0]![1];
    for (const bytes of [4_088, 4_089, 10_000, 2_500_000, 10]) {
      const content = Buffer.alloc(bytes, "payload");
      const a = ours(1, options, content, 4_096);
      expect(a.equals(amqplibFrames(1, options, content, 4_096))).toBe(true);
    }
  });

  it("throws for what it does not write (a typed value: amqplib then encodes it) and what amqplib refuses", () => {
    const content = Buffer.alloc(0);
    expect(() => ours(1, { headers: { t: { "!": "timestamp", value: 1 } } }, content, 4_096)).toThrow(
      TypeError,
    );
    expect(() => ours(1, { correlationId: "x".repeat(256) }, content, 4_096)).toThrow(TypeError);
    // Nothing of a refused message is left over for the next one.
    const options = cases[0]![1];
    expect(ours(1, options, content, 4_096).equals(amqplibFrames(1, options, content, 4_096))).toBe(true);
  });

  it("comes in the chunks amqplib writes (its channel buffer counts chunks for backpressure)", () => {
    const chunks = (bytes: number, headers: Record<string, unknown> = {}) =>
      encodePublishChunks({
        channel: 1,
        exchange: "wt.tasks",
        routingKey: "svc.task",
        mandatory: true,
        properties: { headers },
        content: Buffer.alloc(bytes),
        frameMax: 4_096,
      }).map((chunk) => chunk.length);
    expect(chunks(100)).toHaveLength(1); // all frames in one chunk under 2 KiB
    expect(chunks(3_000)).toHaveLength(2); // method + header, then the body frame
    expect(chunks(10_000)).toHaveLength(4); // method + header, then three body frames
    expect(chunks(10, { big: "x".repeat(3_000) })).toHaveLength(3); // method, header, body: apart
  });
});
