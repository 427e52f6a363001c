import type { EventEmitter } from "node:events";
import type {
  AnyTaskContract,
  TaskArgs,
  TaskKwargs,
  ToolboxConfig,
  ToolboxError,
} from "@worker-toolbox/config";
import type { Logger } from "pino";
import type { Canvas, CanvasReceipt } from "../canvas/workflows.js";

/**
 * The producer's view of the broker, which is also its circuit breaker:
 *
 *   connecting ──(connected, topology asserted)──► available ◄──(reconnected)── unavailable
 *       │                                              │                            ▲
 *       └──(no connection within the start grace)──────┼────(connection lost)───────┘
 *                                                      │
 *   any ──(wrong credentials, unknown vhost, TLS, topology drift)──► failed      close() ──► closed
 *
 * `available` = breaker closed: sends are published. `unavailable` = breaker open: sends fail fast
 * (PUBLISH_CIRCUIT_OPEN) or wait in the bounded offline buffer. `connecting` = the first connection
 * attempt of a new producer: sends wait for it (at most the start grace) instead of failing.
 */
export type ProducerState = "connecting" | "available" | "unavailable" | "failed" | "closed";

export interface ProducerOptions {
  config: ToolboxConfig;
  /** Every task this producer may send; the topology of their services is declared on connect. */
  contracts: readonly AnyTaskContract[];
  logger?: Logger;
  /** Connection name shown in the RabbitMQ management UI; default `producer:<pid>`. */
  name?: string;
}

/** Plain values only: they travel as an AMQP header table. */
export type TrackingMetadata = Record<string, string | number | boolean | null>;

export interface SendOptions {
  /** Run no earlier than this many ms from now. Do not combine with `eta`. */
  countdownMs?: number;
  eta?: Date;
  /** Drop the task unrun after this moment (a Date) or this many ms from now. */
  expires?: Date | number;
  /** AMQP priority 0-255. */
  priority?: number;
  /** An explicit task id (a UUID), for idempotent resends after an unknown outcome. */
  id?: string;
  /** Who or what asked for the task (`{ requestedBy: "user:42" }`); sent in the `x-wt-tracking` header. */
  tracking?: TrackingMetadata;
  /** The task sending this one; sets `parent_id` and `root_id` (a worker's `ctx.send` passes it). */
  parent?: { id: string; rootId: string };
  /** W3C trace context, passed through as the `traceparent` / `tracestate` headers. */
  traceparent?: string;
  tracestate?: string;
  /** Tell workers not to store a result. */
  ignoreResult?: boolean;
}

/** Options of `producer.apply`: what applies to every message a workflow starts with. */
export type CanvasSendOptions = Pick<SendOptions, "tracking" | "parent" | "traceparent" | "tracestate">;

/** One call in `producer.sendMany`. */
export interface TaskCall<C extends AnyTaskContract> {
  args: TaskArgs<C>;
  kwargs?: TaskKwargs<C>;
  options?: SendOptions;
}

/** What a confirmed send returns. */
export interface SendReceipt {
  id: string;
  name: string;
  rootId: string;
}

export type ProducerEvents = { state: [state: ProducerState, error: ToolboxError | undefined] };

export interface Producer extends EventEmitter<ProducerEvents> {
  /** True when a send would be published now (breaker closed). */
  readonly available: boolean;
  readonly state: ProducerState;
  /** Why the producer is `unavailable` or `failed`. */
  readonly lastError: ToolboxError | undefined;
  /** The broker node in use (the last one while reconnecting), password masked; for logs and health checks. */
  readonly node: string | undefined;
  /** Resolves once the broker confirmed the message; rejects with a typed `ToolboxError` otherwise. */
  send<C extends AnyTaskContract>(
    contract: C,
    args: TaskArgs<C>,
    kwargs?: TaskKwargs<C>,
    options?: SendOptions,
  ): Promise<SendReceipt>;
  /**
   * Sends many tasks of one contract in order, pacing itself on the connection's write buffer: each call is
   * validated, encoded and published only when there is room to write it, so a bulk send of any size holds
   * only what the socket and the broker's unconfirmed window hold, and encoding overlaps the broker's work.
   * Resolves once every call settled, with one outcome per call in call order (as `Promise.allSettled`):
   * a bad call fails alone. If the write buffer does not drain within the publish deadline, the calls not
   * yet sent are rejected with PUBLISH_TIMEOUT (not published). Rejects (TASK_UNKNOWN) only when the
   * contract is not this producer's.
   */
  sendMany<C extends AnyTaskContract>(
    contract: C,
    calls: Iterable<TaskCall<C>>,
  ): Promise<PromiseSettledResult<SendReceipt>[]>;
  /** For dynamic callers: rejects with TASK_UNKNOWN when the producer has no contract of that name. */
  sendByName(
    name: string,
    args: readonly unknown[],
    kwargs?: Record<string, unknown>,
    options?: SendOptions,
  ): Promise<SendReceipt>;
  /**
   * Send a workflow (a signature, `chain`, `group` or `chord`; docs/interop.md): every message it starts
   * with, each confirmed by the broker. Python and TypeScript workers run the rest (the next chain step,
   * callbacks, the chord's body) from what the messages carry. Every contract in it must be this
   * producer's (TASK_UNKNOWN otherwise); the call's arguments were checked when the signatures were made.
   */
  apply(canvas: Canvas, options?: CanvasSendOptions): Promise<CanvasReceipt & { rootId: string }>;
  /** Resolves when available; rejects on a fatal error, on close, or after `timeoutMs`. */
  ready(timeoutMs?: number): Promise<void>;
  /** Waits for outstanding confirms up to the publish deadline, rejects the rest, closes the connection. */
  close(): Promise<void>;
}
