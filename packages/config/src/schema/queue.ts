import { z } from "zod";
import { doc, positiveInt } from "./doc.js";

/** `queue.*`: the service, platform and delay queues' type and arguments. */
export const queueSchema = z.strictObject({
  type: doc(
    z.enum(["quorum", "classic"]).default("quorum"),
    "Queue type. quorum is replicated, survives node loss and enforces the delivery limit on the broker; " +
      "classic is lighter. Changing it on an existing queue is drift: migrate by draining and re-creating.",
    "quorum",
  ),
  deliveryLimit: doc(
    positiveInt().max(1000).default(10),
    "Quorum queues: after this many redeliveries (crashes mid-task) the broker dead-letters the message, " +
      "so a message that kills its worker cannot loop forever.",
    10,
  ),
  replicas: doc(
    z.number().int().min(1).max(99).optional(),
    "Quorum queues: how many nodes hold a replica of each queue (x-quorum-initial-group-size). Unset: the " +
      "broker's default (rabbit.quorum_cluster_size, 3). An odd number; 3 survives one node down, 5 two. " +
      "Fixed when a queue is created: changing it is drift (grow or shrink with rabbitmq-queues).",
    3,
  ),
  deadLetterStrategy: doc(
    z.enum(["at-least-once", "at-most-once"]).default("at-least-once"),
    "Quorum queues: how the broker dead-letters from service and platform queues (delivery limit " +
      "exceeded). at-least-once keeps a message in its queue until the dead-letter queue confirmed it " +
      "(x-dead-letter-strategy with x-overflow=reject-publish, RabbitMQ 3.10+); at-most-once drops it if the " +
      "dead-letter queue is unavailable at that moment, and declares the arguments of queues created before " +
      "this setting existed. Delay rungs always dead-letter at least once.",
    "at-least-once",
  ),
  delayRungsMs: doc(
    z
      .array(positiveInt())
      .min(1)
      .default([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 3600].map((seconds) => seconds * 1_000)),
    "Delay rungs: one broker-side delay queue (queue TTL) per value, shared by all services. A retry or a " +
      "future eta waits in the largest rung not longer than the time left, then re-enters the exchange; " +
      "the worker sends it round again until it is due. Needs no broker plugin; due times are exact to " +
      "the smallest rung.",
    [1000, 2000, 4000, 8000],
  ),
});
