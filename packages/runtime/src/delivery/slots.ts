/**
 * A counting semaphore for handler concurrency. `acquire()` resolves with a release function, or with
 * undefined once `close()` was called (the caller then returns its message to the queue).
 */
export class Slots {
  private free: number;
  private waiters: ((release: (() => void) | undefined) => void)[] = [];
  private closed = false;

  constructor(size: number) {
    this.free = size;
  }

  get waiting(): number {
    return this.waiters.length;
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
    if (this.closed || this.free === 0) return undefined;
    this.free -= 1;
    return this.releaser();
  }

  /** Refuse new and waiting acquisitions. */
  close(): void {
    this.closed = true;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake(undefined);
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (next) next(this.releaser());
      else this.free += 1;
    };
  }
}
