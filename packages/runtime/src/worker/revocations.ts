import { entityNames, type ToolboxConfig, ToolboxError } from "@worker-toolbox/config";
import type { ConfirmPublisher } from "../broker/confirmPublisher.js";
import { type ControlRequest, encodeControlRequest } from "../control/pidbox.js";
import type { ResultStore } from "../results/resultStore.js";

/**
 * Revocation: Celery's `revoke` command on its pidbox exchange `<prefix>.celery.pidbox` (fanout) reaches every
 * worker, Celery's and ours (each consumes its own queue `<node name>.<prefix>.celery.pidbox`), which remembers
 * the ids for `ttlMs` (like Celery's revoked set); `app.control.revoke()` from Python reaches ours alike.
 * A revoked task that has not started is skipped and recorded REVOKED; with `terminate` (what `revokeTask`
 * sends), a running one has its AbortSignal fired (control/remoteControl.ts answers the command). The
 * revoker also stores the REVOKED row itself, a final state no later SUCCESS can overwrite, so a worker
 * that was offline during the broadcast still cannot record the task as done.
 *
 * Wire format (JSON, Celery's pidbox `revoke` command as `app.control.revoke()` sends it, plus `reason`):
 *   {"method": "revoke", "arguments": {"task_id": ["<id>", ...], "terminate": true, "signal": "SIGTERM",
 *    "reason": "..."}, "destination": null, "pattern": null, "matcher": null}
 */
export interface RevokeMessage {
  taskIds: string[];
  reason: string;
}

/** Celery's `revoke` request for every node (no reply asked): body and headers. */
export function encodeRevoke(message: RevokeMessage): {
  content: Buffer;
  headers: { clock: number; expires: number };
} {
  // terminate: a running task's AbortSignal fires too (the toolbox's revoke has always stopped running tasks).
  const args = { task_id: message.taskIds, terminate: true, signal: "SIGTERM", reason: message.reason };
  return encodeControlRequest("revoke", args, { clock: 0 });
}

/** The revocation a pidbox request carries, or undefined when it is another command (ignored). */
export function decodeRevoke(
  request: Pick<ControlRequest, "method" | "arguments">,
): RevokeMessage | undefined {
  if (request.method !== "revoke") return undefined;
  const ids = request.arguments.task_id;
  const list = (Array.isArray(ids) ? ids : [ids]).filter(
    (id): id is string => typeof id === "string" && id !== "",
  );
  if (list.length === 0) return undefined;
  const reason = typeof request.arguments.reason === "string" ? request.arguments.reason : "revoked";
  return { taskIds: list, reason };
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

  /** The ids revoked and not yet forgotten (`inspect().revoked()`). */
  ids(now = Date.now()): string[] {
    this.prune(now);
    return [...this.entries.keys()];
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
  const { content, headers } = encodeRevoke({ taskIds, reason });
  try {
    await options.publisher.publish({
      exchange: entityNames(options.config.environment.prefix).controlExchange,
      routingKey: "",
      content,
      properties: { contentType: "application/json", contentEncoding: "utf-8", deliveryMode: 1, headers },
    });
  } catch (error) {
    // No worker is listening: nothing runs that could be aborted; the REVOKED rows below still hold.
    if (!(error instanceof ToolboxError && error.code === "PUBLISH_UNROUTABLE")) throw error;
  }
  await options.store?.writeMany(taskIds.map((taskId) => ({ taskId, state: "REVOKED" as const, reason })));
}
