/**
 * A counting semaphore for handler concurrency. `acquire()` resolves with a release function, or with
 * undefined once `close()` was called (the caller then returns its message to the queue). `resize()` changes
 * the number of slots while it runs (remote control's pool_grow/pool_shrink): growing wakes waiters at once;
 * shrinking takes effect as running handlers release their slots (none is interrupted).
 */
export class Slots {
  private free: number;
  private slots: number;
  private waiters: ((release: (() => void) | undefined) => void)[] = [];
  private closed = false;

  constructor(size: number) {
    this.free = size;
    this.slots = size;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** The number of slots (the worker's concurrency now). */
  get size(): number {
    return this.slots;
  }

  acquire(): Promise<(() => void) | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    if (this.free > 0) {
      this.free -= 1;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** A release function when a slot is free now (and nobody waits for one), else undefined: then `acquire()`. */
  tryAcquire(): (() => void) | undefined {
    if (this.closed || this.free <= 0) return undefined;
    this.free -= 1;
    return this.releaser();
  }

  /** Make it `size` slots (≥ 1). Handlers holding a slot keep it; `free` may go below zero until they finish. */
  resize(size: number): void {
    if (!Number.isInteger(size) || size < 1)
      throw new RangeError(`slots must be a whole number ≥ 1, got ${size}`);
    this.free += size - this.slots;
    this.slots = size;
    this.wake();
  }

  /** Refuse new and waiting acquisitions. */
  close(): void {
    this.closed = true;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake(undefined);
  }

  private wake(): void {
    while (this.free > 0 && this.waiters.length > 0) {
      this.free -= 1;
      this.waiters.shift()!(this.releaser());
    }
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.free += 1;
      if (this.waiters.length > 0) this.wake();
    };
  }
}
