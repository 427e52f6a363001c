import { ToolboxError } from "@worker-toolbox/config";

interface Held {
  /** Epoch ms by which the item must have been published and confirmed. */
  deadline: number;
  timer: NodeJS.Timeout;
  release: (deadline: number) => void;
  reject: (error: ToolboxError) => void;
}

/**
 * Sends held while the producer reconnects: bounded, first in first out, and explicit about overflow —
 * a send that does not fit rejects with PUBLISH_BUFFER_FULL at once, and a held send whose publish
 * deadline passes rejects with PUBLISH_TIMEOUT. Nothing leaves the buffer without its promise settling.
 */
export class OfflineBuffer {
  private readonly held: Held[] = [];

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.held.length;
  }

  /**
   * Hold the send of `routingKey` until `flush` (resolves with the deadline left) or `rejectAll`. Rejects with
   * PUBLISH_BUFFER_FULL when full, PUBLISH_TIMEOUT when `deadline` passes first.
   */
  hold(routingKey: string, deadline: number): Promise<number> {
    if (this.held.length >= this.capacity) {
      return Promise.reject(
        new ToolboxError(
          "PUBLISH_BUFFER_FULL",
          `The broker is unavailable and the offline buffer is full (${this.capacity} sends): ${routingKey} was not sent.`,
          { hint: "retry later, or raise producer.offlineBufferSize (WT_PRODUCER_OFFLINE_BUFFER_SIZE)" },
        ),
      );
    }
    return new Promise<number>((resolve, reject) => {
      const entry: Held = {
        deadline,
        timer: setTimeout(
          () => {
            this.remove(entry);
            reject(
              new ToolboxError(
                "PUBLISH_TIMEOUT",
                `${routingKey} waited in the offline buffer until its publish deadline; it was not sent.`,
                { hint: "the broker stayed unavailable; check producer.available before sending, or retry" },
              ),
            );
          },
          Math.max(0, deadline - Date.now()),
        ),
        release: resolve,
        reject,
      };
      this.held.push(entry);
    });
  }

  /** Release every held item in order, resolving each with its deadline. */
  flush(): void {
    for (const entry of this.held.splice(0)) {
      clearTimeout(entry.timer);
      entry.release(entry.deadline);
    }
  }

  rejectAll(error: ToolboxError): void {
    for (const entry of this.held.splice(0)) {
      clearTimeout(entry.timer);
      entry.reject(error);
    }
  }

  private remove(entry: Held): void {
    const index = this.held.indexOf(entry);
    if (index >= 0) this.held.splice(index, 1);
  }
}
