import { setTimeout as sleep } from "node:timers/promises";
import type { ArrivedMessage } from "../delivery/admit.js";

/** How the in-process runner treats time: skip ahead to the next due message (default), or wait for it. */
export type DelayMode = "skip" | "real";

interface Entry {
  due: number;
  seq: number;
  message: ArrivedMessage;
}

/**
 * The in-process runner's queue and clock. Messages run one at a time in the order they are due (ties in
 * the order they were sent), like one worker with concurrency 1. With `skip`, the clock jumps to the next
 * message's due time instead of waiting (a retry's backoff, an eta, a chord_unlock's poll): `now()` is
 * the wall clock plus everything skipped so far, and the worker's decisions are taken at that time.
 */
export class Timeline {
  private readonly entries: Entry[] = [];
  private seq = 0;
  private skipped = 0;

  constructor(private readonly mode: DelayMode) {}

  now(): number {
    return Date.now() + this.skipped;
  }

  /** Milliseconds skipped so far. */
  get skippedMs(): number {
    return this.skipped;
  }

  get size(): number {
    return this.entries.length;
  }

  add(message: ArrivedMessage, due = this.now()): void {
    const entry = { due, seq: this.seq++, message };
    let index = this.entries.length;
    while (index > 0 && this.entries[index - 1]!.due > due) index--;
    this.entries.splice(index, 0, entry);
  }

  /** The next message once it is due (skipping or waiting for the time in between); undefined when empty. */
  async next(): Promise<ArrivedMessage | undefined> {
    const entry = this.entries[0];
    if (!entry) return undefined;
    const wait = entry.due - this.now();
    if (wait > 0) {
      if (this.mode === "real") await sleep(wait);
      else this.skipped += wait;
    }
    // Something due earlier may have been added while waiting.
    return this.entries.shift()?.message;
  }
}
