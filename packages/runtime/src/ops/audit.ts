import { entityNames, PLATFORM_DEAD_LETTER_KEY, type ToolboxConfig } from "@worker-toolbox/config";
import type { ChannelModel } from "amqplib";
import type { Pool } from "pg";
import { isNotFound, withThrowawayChannel } from "../broker/throwawayChannel.js";
import type { ManagementClient } from "../management/client.js";
import { auditRows, auditWindow } from "../results/lossAccounting.js";
import { type AuditReport, buildAuditReport, type QueueCount } from "./auditReport.js";
import { listDeadLetters } from "./deadLetterQueue.js";

/**
 * `worker-toolbox audit`: did we lose anything? Reconciles the tracking table (every task ever scheduled,
 * recorded by the tracker from the platform queue) with the result table over a window, then looks at the
 * broker to tell tasks that are still waiting somewhere from tasks that are gone. Read-only: queues are
 * counted with passive declares, and dead letters are read the way `dlq list` reads them (taken and handed
 * back), so their ids can be recognised.
 */
export interface AuditOptions {
  config: ToolboxConfig;
  pool: Pool;
  /** Broker connection; without it the queues are not checked and no overdue task is called lost. */
  connection?: ChannelModel;
  /** For unacknowledged counts (AMQP only reports ready messages). */
  management?: { client: ManagementClient; vhost: string };
  /** Services whose queues to check, besides every service with a task in the window. */
  services?: readonly string[];
  /** The window: tasks scheduled in the last `sinceMs`. */
  sinceMs: number;
  /** How long past its due time a task may take (queue wait plus run time) before it is overdue. */
  graceMs: number;
  /** Oldest ids shown per group (default 5). */
  idsPerGroup?: number;
  /** Read the ids of dead-letter queues holding at most this many messages (default 10,000). */
  deadLetterReadLimit?: number;
}

export async function runAudit(options: AuditOptions): Promise<AuditReport> {
  const { config, pool } = options;
  const schema = config.database.schema;
  const window = await auditWindow(pool, schema, options.sinceMs);
  const services = [...new Set([...(options.services ?? []), ...window.services])].sort();
  const notes: string[] = [];
  let queues: QueueCount[] | undefined;
  const deadLettered = new Set<string>();
  const platformDead = new Set<string>();
  if (options.connection) {
    queues = await countQueues(options.connection, config, services, options.management, notes);
    const limit = options.deadLetterReadLimit ?? 10_000;
    for (const queue of queues.filter((item) => item.role === "dead-letters" && item.ready > 0)) {
      if (queue.ready > limit) {
        notes.push(
          `${queue.queue} holds ${queue.ready} dead letters, more than the read limit ${limit}: ` +
            "their tasks are counted as overdue or lost, not as dead-lettered",
        );
        continue;
      }
      const listing = await listDeadLetters(
        options.connection,
        { prefix: config.environment.prefix, service: queue.service },
        { limit: queue.ready },
      );
      const into = queue.service === PLATFORM_DEAD_LETTER_KEY ? platformDead : deadLettered;
      for (const letter of listing.messages) if (letter.taskId) into.add(letter.taskId);
    }
  } else {
    notes.push("the broker was not checked: overdue tasks may still be queued, so none is called lost");
  }
  const rows = await auditRows(pool, schema, {
    since: window.since,
    graceMs: options.graceMs,
    deadLetteredIds: [...deadLettered],
    ...(options.idsPerGroup !== undefined ? { idsPerGroup: options.idsPerGroup } : {}),
  });
  return buildAuditReport({
    rows,
    since: window.since,
    graceMs: options.graceMs,
    queues,
    notes,
    platformDeadLetterIds: platformDead,
  });
}

/**
 * Exact ready counts (passive declares) of every queue a task of the window could still be in: each
 * service's queue and dead-letter queue, the delay rungs and the platform pair. Unacknowledged counts come
 * from the management API when it answers.
 */
async function countQueues(
  connection: ChannelModel,
  config: ToolboxConfig,
  services: readonly string[],
  management: AuditOptions["management"],
  notes: string[],
): Promise<QueueCount[]> {
  const names = entityNames(config.environment.prefix);
  const wanted: Omit<QueueCount, "exists" | "ready" | "unacknowledged" | "consumers">[] = [];
  for (const service of [...services, PLATFORM_DEAD_LETTER_KEY]) {
    const platform = service === PLATFORM_DEAD_LETTER_KEY;
    wanted.push(
      { service, queue: platform ? names.platformQueue : names.serviceQueue(service), role: "tasks" },
      {
        service,
        queue: platform ? names.platformDeadLetterQueue : names.serviceDeadLetterQueue(service),
        role: "dead-letters",
      },
    );
  }
  for (const rung of [...new Set(config.queue.delayRungsMs)].sort((a, b) => a - b))
    wanted.push({ service: "delay", queue: names.delayQueue(rung), role: "delay" });

  let unacked: Map<string, number | undefined> | undefined;
  if (management) {
    try {
      const listed = await management.client.listQueues(management.vhost);
      unacked = new Map(listed.map((queue) => [queue.name, queue.messagesUnacknowledged]));
    } catch (error) {
      const reason = (error as Error).message.split("\n")[0];
      notes.push(`management API unavailable (${reason}): unacknowledged messages not counted`);
    }
  }
  const out: QueueCount[] = [];
  for (const queue of wanted) {
    const found = await withThrowawayChannel(connection, (channel) => channel.checkQueue(queue.queue)).catch(
      (error: unknown) => {
        if (isNotFound(error)) return undefined;
        throw error;
      },
    );
    out.push({
      ...queue,
      exists: found !== undefined,
      ready: found?.messageCount ?? 0,
      // Without consumers nothing holds a message unacknowledged (the exact count beats a stale sample).
      unacknowledged: !found || found.consumerCount === 0 ? 0 : unacked?.get(queue.queue),
      consumers: found?.consumerCount ?? 0,
    });
  }
  return out;
}
