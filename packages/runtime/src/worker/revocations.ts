import { entityNames, type ToolboxConfig, ToolboxError } from "@worker-toolbox/config";
import type { ConfirmPublisher } from "../broker/confirmPublisher.js";
import type { ResultStore } from "../results/resultStore.js";

/**
 * Revocation: a control message on the `<prefix>.control` fanout exchange reaches every worker (each binds
 * its own exclusive, auto-delete queue), which remembers the ids for `ttlMs` (like Celery's revoked set).
 * A revoked task that has not started is skipped and recorded REVOKED; a running one has its AbortSignal
 * fired. The revoker also stores the REVOKED row itself, a final state no later SUCCESS can overwrite, so
 * a worker that was offline during the broadcast still cannot record the task as done.
 *
 * Wire format (JSON, shaped like Celery's pidbox `revoke` command):
 *   {"method": "revoke", "arguments": {"task_id": ["<id>", ...], "reason": "..."}}
 */
export interface RevokeMessage {
  taskIds: string[];
  reason: string;
}

export function encodeRevoke(message: RevokeMessage): Buffer {
  return Buffer.from(
    JSON.stringify({ method: "revoke", arguments: { task_id: message.taskIds, reason: message.reason } }),
  );
}

/** The revocation in a control message, or undefined when it is something else (ignored). */
export function decodeRevoke(content: Buffer): RevokeMessage | undefined {
  try {
    const parsed = JSON.parse(content.toString("utf8")) as {
      method?: unknown;
      arguments?: { task_id?: unknown; reason?: unknown };
    };
    if (parsed?.method !== "revoke") return undefined;
    const ids = parsed.arguments?.task_id;
    const list = (Array.isArray(ids) ? ids : [ids]).filter(
      (id): id is string => typeof id === "string" && id !== "",
    );
    if (list.length === 0) return undefined;
    const reason = typeof parsed.arguments?.reason === "string" ? parsed.arguments.reason : "revoked";
    return { taskIds: list, reason };
  } catch {
    return undefined;
  }
}

/** Task ids revoked recently: bounded in size and age, oldest dropped first. */
export class RevokedSet {
  private readonly entries = new Map<string, { at: number; reason: string }>();

  constructor(
    private readonly maxSize = 50_000,
    private readonly ttlMs = 3 * 60 * 60 * 1_000,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  add(taskId: string, reason: string, now = Date.now()): void {
    this.entries.delete(taskId);
    this.entries.set(taskId, { at: now, reason });
    this.prune(now);
  }

  /** The revocation reason, or undefined when the id is not (or no longer) revoked. */
  get(taskId: string, now = Date.now()): string | undefined {
    const entry = this.entries.get(taskId);
    if (!entry) return undefined;
    if (now - entry.at > this.ttlMs) {
      this.entries.delete(taskId);
      return undefined;
    }
    return entry.reason;
  }

  private prune(now: number): void {
    for (const [id, entry] of this.entries) {
      if (this.entries.size <= this.maxSize && now - entry.at <= this.ttlMs) break;
      this.entries.delete(id);
    }
  }
}

export interface RevokeTaskOptions {
  config: ToolboxConfig;
  /** An attached confirm publisher (the worker's or a producer's). */
  publisher: ConfirmPublisher;
  /** When given, the REVOKED rows are stored too (recommended). */
  store?: Pick<ResultStore, "writeMany">;
  taskIds: readonly string[];
  reason?: string;
}

/** Broadcast a revocation (confirmed by the broker) and record REVOKED rows. */
export async function revokeTask(options: RevokeTaskOptions): Promise<void> {
  const taskIds = [...new Set(options.taskIds)];
  if (taskIds.length === 0 || taskIds.some((id) => typeof id !== "string" || id === "")) {
    throw new ToolboxError("MESSAGE_INVALID", "revokeTask needs one or more non-empty task ids.");
  }
  const reason = options.reason ?? "revoked";
  try {
    await options.publisher.publish({
      exchange: entityNames(options.config.environment.prefix).controlExchange,
      routingKey: "",
      content: encodeRevoke({ taskIds, reason }),
      properties: { contentType: "application/json", deliveryMode: 1 },
    });
  } catch (error) {
    // No worker is listening: nothing runs that could be aborted; the REVOKED rows below still hold.
    if (!(error instanceof ToolboxError && error.code === "PUBLISH_UNROUTABLE")) throw error;
  }
  await options.store?.writeMany(taskIds.map((taskId) => ({ taskId, state: "REVOKED" as const, reason })));
}
