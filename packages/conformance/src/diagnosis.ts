/**
 * Why a task has no result row, and where its message went: the suite's looks at the service queue, its
 * dead-letter queue, the result table and the worker, worded for a failing case to print.
 */
import type { Worker } from "@worker-toolbox/runtime";
import type { ManagementClient } from "@worker-toolbox/runtime/topology";
import type { Channel, ChannelModel, Message } from "amqplib";
import type { Pool } from "pg";
import { sleep } from "./timing.js";

/** What a diagnosis looks at; the run hands these over once it is prepared. */
export interface DiagnosisSources {
  /** The suite's own pool (the migration owner): it reads the result table whatever the worker role may. */
  pool: Pool;
  schema: string;
  /** The suite's own broker connection; each look opens a channel of its own on it. */
  connection: ChannelModel;
  /** Undefined when the management API is not reachable. */
  management: ManagementClient | undefined;
  vhost: string;
  serviceQueue: string;
  deadLetterQueue: string;
  resultTimeoutMs: number;
  /** The worker the suite started itself (default startWorker); it starts after the run is prepared. */
  ownWorker: () => Worker | undefined;
}

export class Diagnosis {
  private heldVerdict: boolean | undefined;
  private readonly deadLetters = new Map<string, Message>();

  constructor(private readonly sources: DiagnosisSources) {}

  /** Why a sent task has no final row: where its message is, what the worker is doing. */
  async explainMissingRow(taskId: string): Promise<string> {
    const { serviceQueue, schema, resultTimeoutMs } = this.sources;
    const status = await this.currentStatus(taskId);
    const queue = await this.queueState(serviceQueue);
    const workerState = this.sources.ownWorker()?.state;
    const state = workerState ? ` (worker state: ${workerState})` : "";
    let where: string;
    if (!queue) where = `the service queue ${serviceQueue} does not exist`;
    else if (queue.consumers === 0)
      where = `nothing consumes ${serviceQueue}${state}: the worker is not subscribed to its queue`;
    else if (queue.ready > 0)
      where = `${queue.ready} message(s) still wait in ${serviceQueue}: the worker has not taken them`;
    else {
      const held = await this.holdsUnacked();
      where =
        held === true
          ? `the worker holds the message unacknowledged and cannot store its outcome: check that it writes ` +
            `to config.database.url and schema "${schema}", migrated (\`worker-toolbox db migrate\`), with the worker role's grants`
          : held === false
            ? `the worker acknowledged the message without storing a final row: it acks before the outcome is ` +
              "stored (or stores it somewhere else), so a crash loses the task and nobody sees its result"
            : `the worker took the message from ${serviceQueue} but stored no final row${state}: it acknowledged ` +
              "the message without storing the result, or it cannot write the result backend";
    }
    return `no final result row for task ${taskId} within ${resultTimeoutMs} ms (last status ${status}); ${where}`;
  }

  /**
   * Does the worker hold messages unacknowledged? Exact for the suite's own worker; otherwise read from the
   * management API, whose queue counters are sampled (every 5 s by default), so it is polled a little and
   * the answer is kept for the run: a worker either holds what it cannot store or drops it.
   */
  private async holdsUnacked(): Promise<boolean | undefined> {
    const ownWorker = this.sources.ownWorker();
    if (ownWorker) {
      const stats = ownWorker.stats;
      return stats.pendingResults > 0 || stats.running > 0 ? true : undefined;
    }
    const { management, vhost, serviceQueue } = this.sources;
    if (this.heldVerdict !== undefined || !management) return this.heldVerdict;
    const deadline = Date.now() + 6_000;
    while (Date.now() < deadline) {
      const info = await management.getQueue(vhost, serviceQueue).catch(() => undefined);
      if ((info?.messagesUnacknowledged ?? 0) > 0) {
        this.heldVerdict = true;
        return true;
      }
      await sleep(500);
    }
    this.heldVerdict = false;
    return false;
  }

  private async currentStatus(taskId: string): Promise<string> {
    const { rows } = await this.sources.pool.query<{ status: string }>(
      `SELECT status FROM "${this.sources.schema}".celery_taskmeta WHERE task_id = $1`,
      [taskId],
    );
    return rows[0]?.status ?? "PENDING (no row)";
  }

  /** Ready messages and consumers of a queue over AMQP (exact, unlike the management API's samples). */
  async queueState(queue: string): Promise<{ ready: number; consumers: number } | undefined> {
    const channel = await this.sources.connection.createChannel();
    channel.on("error", () => undefined);
    try {
      const { messageCount, consumerCount } = await channel.checkQueue(queue);
      return { ready: messageCount, consumers: consumerCount };
    } catch {
      return undefined;
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  /**
   * The dead letter of `taskId` in the service's dead-letter queue, waiting up to `timeoutMs`. Letters taken
   * off the queue for other tasks are kept, so each case still finds its own.
   */
  async deadLetter(taskId: string, timeoutMs = this.sources.resultTimeoutMs): Promise<Message | undefined> {
    const deadline = Date.now() + timeoutMs;
    let channel: Channel | undefined;
    try {
      channel = await this.sources.connection.createChannel();
      channel.on("error", () => undefined);
      for (;;) {
        const found = this.deadLetters.get(taskId);
        if (found) return found;
        const message = await channel.get(this.sources.deadLetterQueue, { noAck: true });
        if (message) {
          const id = message.properties.headers?.id ?? message.properties.correlationId;
          this.deadLetters.set(String(id), message);
          continue;
        }
        if (Date.now() >= deadline) return undefined;
        await sleep(50);
      }
    } catch {
      return this.deadLetters.get(taskId); // The queue does not exist: nothing was dead-lettered there.
    } finally {
      await channel?.close().catch(() => undefined);
    }
  }
}
