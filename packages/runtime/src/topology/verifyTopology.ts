import type { PlannedQueue, TopologyPlan } from "@worker-toolbox/config";
import amqp, { type Channel, type ChannelModel } from "amqplib";
import { classifyBrokerError, vhostOf } from "../broker/classifyError.js";
import { withThrowawayChannel } from "../broker/throwawayChannel.js";
import { createManagementClient, deriveManagementUrl, type ManagementClient } from "../management/client.js";
import { findExtras, listUnderPrefix } from "./extraEntities.js";
import {
  type ArgumentValue,
  bindingName,
  parseInequivalentArg,
  plannedArguments,
  type TopologyMismatch,
} from "./mismatch.js";

export interface VerifyTopologyOptions {
  plan: TopologyPlan;
  /** An open connection to check over; it is never closed and survives every failed check. */
  connection?: ChannelModel;
  /** Or a URL: a connection is opened for the checks and closed afterwards. */
  amqpUrl?: string;
  /**
   * Management API for the binding checks. Undefined: derived from `amqpUrl` (broker host, port 15672,
   * broker credentials). `false`: bindings are not checked.
   */
  managementUrl?: string | false;
  /** Or a management client already open (e.g. one that fails over across a cluster's nodes). */
  managementClient?: ManagementClient;
  /** Vhost for the management API; defaults to the one `amqpUrl` names, else `/`. */
  vhost?: string;
  /** Socket options for the connection opened from `amqpUrl` (TLS files, timeout). */
  socketOptions?: Record<string, unknown>;
  /**
   * Report bindings, queues and exchanges under the prefix that no plan has (default true; needs the
   * management API). Services present on the broker are not extra: see extraEntities.ts.
   */
  extras?: boolean;
}

export interface VerifyTopologyResult {
  ok: boolean;
  mismatches: TopologyMismatch[];
  /** AMQP cannot check bindings passively; they need the management API. */
  bindingsChecked: "management-api" | "skipped";
  /** Why bindings were skipped (no URL, unreachable, refused). */
  skippedReason?: string;
}

/**
 * Check, without changing anything, that the broker has the plan's exchanges, queues and bindings, and
 * nothing else under the prefix.
 *
 * Each check runs on its own throwaway channel: a passive declare of a missing entity (404) or an
 * inequivalent re-declare (406) closes that channel only, never the connection. An entity that exists
 * is re-declared with the planned type and arguments, which is a no-op when they are equal and a 406
 * naming the first differing argument when not. With the management API, queue arguments are also
 * compared in full (every difference, not only the first), and bindings are checked.
 */
export async function verifyTopology(options: VerifyTopologyOptions): Promise<VerifyTopologyResult> {
  const { plan } = options;
  if (!options.connection && !options.amqpUrl)
    throw new TypeError("verifyTopology needs a connection or an amqpUrl");
  const owned = options.connection
    ? undefined
    : await amqp.connect(options.amqpUrl!, options.socketOptions).catch((error: unknown) => {
        throw classifyBrokerError(error, options.amqpUrl!);
      });
  // A connection we opened must not crash the process if the broker drops it mid-check.
  owned?.on("error", () => {});
  const connection = (options.connection ?? owned)!;
  try {
    const mismatches: TopologyMismatch[] = [];
    const missing = new Set<string>();
    for (const exchange of plan.exchanges) {
      const found = await checkEntity(connection, "exchange", exchange.name, (channel) =>
        channel.assertExchange(exchange.name, exchange.type, { durable: exchange.durable }),
      );
      if (found === "missing") missing.add(exchange.name);
      if (found !== "ok") mismatches.push(toMismatch(plan, "exchange", exchange.name, found));
    }
    for (const queue of plan.queues) {
      const found = await checkEntity(connection, "queue", queue.name, (channel) =>
        channel.assertQueue(queue.name, { durable: queue.durable, arguments: queue.arguments }),
      );
      if (found === "missing") missing.add(queue.name);
      if (found !== "ok") mismatches.push(toMismatch(plan, "queue", queue.name, found));
    }

    const management = await openManagement(options);
    if ("skipped" in management) {
      return {
        ok: mismatches.length === 0,
        mismatches,
        bindingsChecked: "skipped",
        skippedReason: management.skipped,
      };
    }
    const { client, vhost } = management;
    for (const queue of plan.queues) {
      if (missing.has(queue.name)) continue;
      const info = await client.getQueue(vhost, queue.name);
      if (!info) continue; // Deleted since the AMQP check; the next run reports it.
      for (const mismatch of compareArguments(queue, { ...info.arguments })) {
        const known = mismatches.some(
          (item) =>
            item.entity === "queue" && item.name === queue.name && item.argument === mismatch.argument,
        );
        if (!known) mismatches.push(mismatch);
      }
    }
    for (const binding of plan.bindings) {
      if (missing.has(binding.exchange) || missing.has(binding.queue)) continue; // Already reported.
      const existing = await client.bindingsBetween(vhost, binding.exchange, binding.queue);
      const present = existing.some(
        (item) => item.routingKey === binding.routingKey && sameArguments(binding.arguments, item.arguments),
      );
      if (!present) mismatches.push({ entity: "binding", name: bindingName(binding), problem: "missing" });
    }
    if (options.extras !== false)
      mismatches.push(...findExtras(plan, await listUnderPrefix(client, vhost, plan.prefix)));
    return { ok: mismatches.length === 0, mismatches, bindingsChecked: "management-api" };
  } finally {
    if (owned) await owned.close().catch(() => {});
  }
}

type Found = "ok" | "missing" | { message: string };

/** Passive check, then an equivalent re-declare, on a channel of its own. */
async function checkEntity(
  connection: ChannelModel,
  entity: "queue" | "exchange",
  name: string,
  redeclare: (channel: Channel) => Promise<unknown>,
): Promise<Found> {
  // The broker closes the channel on 404/406; the rejected call carries the reason.
  return withThrowawayChannel(connection, async (channel) => {
    try {
      if (entity === "queue") await channel.checkQueue(name);
      else await channel.checkExchange(name);
    } catch (error) {
      if (isReplyCode(error, 404)) return "missing";
      throw error;
    }
    try {
      await redeclare(channel);
      return "ok";
    } catch (error) {
      if (isReplyCode(error, 406)) return { message: (error as Error).message };
      throw error;
    }
  });
}

function isReplyCode(error: unknown, code: number): boolean {
  return (error as { code?: unknown })?.code === code;
}

function toMismatch(
  plan: TopologyPlan,
  entity: "queue" | "exchange",
  name: string,
  found: Exclude<Found, "ok">,
): TopologyMismatch {
  if (found === "missing") return { entity, name, problem: "missing" };
  const parsed = parseInequivalentArg(found.message, plannedArguments(plan, found.message));
  // An unparsable 406 still names the entity; the broker's text goes in `actual`.
  return parsed ?? { entity, name, problem: "different-argument", actual: found.message };
}

/** Every argument that differs between the plan and the broker's queue (both directions). */
function compareArguments(queue: PlannedQueue, actual: Record<string, unknown>): TopologyMismatch[] {
  const out: TopologyMismatch[] = [];
  const keys = new Set([...Object.keys(queue.arguments), ...Object.keys(actual)]);
  for (const argument of [...keys].sort()) {
    const expected = queue.arguments[argument];
    const value = actual[argument];
    if (expected !== undefined && value !== undefined && String(expected) === String(value)) continue;
    out.push({
      entity: "queue",
      name: queue.name,
      problem: "different-argument",
      argument,
      expected: expected ?? null,
      actual: value === undefined ? null : (value as ArgumentValue),
    });
  }
  return out;
}

/** A headers binding must carry exactly the planned arguments; a topic binding is matched by its key. */
function sameArguments(planned: Record<string, string>, actual: Record<string, unknown>): boolean {
  if (Object.keys(planned).length === 0) return true;
  const keys = new Set([...Object.keys(planned), ...Object.keys(actual)]);
  return [...keys].every((key) => String(planned[key]) === String(actual[key]));
}

async function openManagement(
  options: VerifyTopologyOptions,
): Promise<{ client: ManagementClient; vhost: string } | { skipped: string }> {
  if (options.managementUrl === false) return { skipped: "binding checks were turned off" };
  const url = options.managementUrl ?? (options.amqpUrl ? deriveManagementUrl(options.amqpUrl) : undefined);
  if (!url && !options.managementClient)
    return { skipped: "no management API URL was given (bindings cannot be checked over AMQP)" };
  const client = options.managementClient ?? createManagementClient({ url: url! });
  try {
    await client.overview();
  } catch (error) {
    return { skipped: `${(error as Error).message.split("\n")[0]} (bindings cannot be checked over AMQP)` };
  }
  return { client, vhost: options.vhost ?? (options.amqpUrl ? vhostOf(options.amqpUrl) : "/") };
}
