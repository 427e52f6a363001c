import { EventEmitter } from "node:events";
import { describeUse, RESULT_CHANNEL } from "@worker-toolbox/runtime/results";
import type { Pool, PoolClient } from "pg";
import type { Logger } from "pino";

/** What changed; each page names the topics it shows and refreshes on them. */
export type Topic = "tasks" | "failures" | "workers" | "broker";

/** The tracking table's channel (sql/000002.sql). */
export const TRACKING_CHANNEL = "worker_toolbox_tracking";

/**
 * Changes, coalesced: `publish(topic)` from anywhere (the workers registry, the broker poller) and, through
 * LISTEN, from every result and tracking write in the schema, including writes made by other processes.
 * Subscribers get at most one `change` per `coalesceMs` with every topic that changed meanwhile.
 */
export class ChangeFeed extends EventEmitter<{ change: [topics: Topic[]] }> {
  private readonly pendingTopics = new Set<Topic>();
  private timer: NodeJS.Timeout | undefined;
  private client: PoolClient | undefined;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(private readonly options: { pool: Pool; schema: string; logger: Logger; coalesceMs?: number }) {
    super();
    this.setMaxListeners(0);
  }

  publish(topic: Topic): void {
    this.pendingTopics.add(topic);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      const topics = [...this.pendingTopics];
      this.pendingTopics.clear();
      this.emit("change", topics);
    }, this.options.coalesceMs ?? 250);
  }

  /** Hold one connection that LISTENs; replaced after a failure (a write missed meanwhile is re-read by the next change). */
  async listen(): Promise<void> {
    if (this.closed) return;
    let client: PoolClient | undefined;
    try {
      client = await this.options.pool.connect();
      this.client = client;
      // A failure of this connection is logged once, by the pool's guard, with these fields.
      describeUse(client, { use: "dashboard live updates (LISTEN)", next: "reconnecting in 1 s" });
      const held = client;
      client.on("notification", (note) => this.onNotification(note.channel, note.payload));
      client.on("error", () => this.lost(held));
      await client.query(`LISTEN ${RESULT_CHANNEL}`);
      await client.query(`LISTEN ${TRACKING_CHANNEL}`);
      // Anything written while no one listened: let the pages catch up.
      this.publish("tasks");
      this.publish("failures");
    } catch (error) {
      // Its connection failed meanwhile: the guard logged it and lost() scheduled the retry.
      if (client && this.client !== client) return;
      this.options.logger.warn({ err: (error as Error).message }, "dashboard cannot LISTEN; retrying in 1 s");
      if (client) this.lost(client);
      else this.scheduleRetry();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    client?.release(true);
  }

  private onNotification(channel: string, payload: string | undefined): void {
    let note: { schema?: string; status?: string } = {};
    try {
      note = JSON.parse(payload ?? "{}");
    } catch {
      return;
    }
    if (note.schema !== this.options.schema) return;
    this.publish("tasks");
    if (channel === RESULT_CHANNEL && (note.status === "FAILURE" || note.status === "SUCCESS"))
      this.publish("failures");
  }

  /** The listening connection failed (the guard logged it) or LISTEN was refused: a new one in 1 s. */
  private lost(client: PoolClient): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.release(true);
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.closed) return;
    this.retry = setTimeout(() => void this.listen(), 1_000);
  }
}
