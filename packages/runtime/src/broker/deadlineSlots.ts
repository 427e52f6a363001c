/**
 * Deadlines for many concurrent operations with one timer per time slot rather than one per operation.
 *
 * A publisher sending thousands of messages a second would otherwise create and clear a timer for every
 * one, almost all cleared a few milliseconds later by the confirm. Here an operation counts itself in the
 * slot its deadline falls in (slots end every `slotMs`); a slot's timer is made when its first operation
 * arrives and cleared when its last one settles. When a slot's timer fires, `expire(now)` settles every
 * operation whose deadline has passed (each then calls `remove`). An operation therefore expires at most
 * `slotMs` after its deadline, and never before it.
 */
export class DeadlineSlots {
  private readonly slots = new Map<number, { timer: NodeJS.Timeout; live: number }>();

  constructor(
    private readonly slotMs: number,
    private readonly expire: (now: number) => void,
  ) {}

  /** Count an operation due at `deadline` (ms since the epoch); returns its slot, for `remove`. */
  add(deadline: number): number {
    const key = Math.ceil(deadline / this.slotMs) * this.slotMs;
    const slot = this.slots.get(key);
    if (slot) slot.live++;
    else this.slots.set(key, { timer: this.arm(key, key), live: 1 });
    return key;
  }

  /** The operation counted in `key` settled. */
  remove(key: number): void {
    const slot = this.slots.get(key);
    if (!slot || --slot.live > 0) return;
    clearTimeout(slot.timer);
    this.slots.delete(key);
  }

  private arm(key: number, at: number): NodeJS.Timeout {
    return setTimeout(() => this.fire(key), Math.max(0, at - Date.now()));
  }

  private fire(key: number): void {
    // Timers and Date.now() use different clocks: the slot's own end counts as passed.
    this.expire(Math.max(Date.now(), key));
    const slot = this.slots.get(key);
    if (slot) slot.timer = this.arm(key, Date.now() + this.slotMs); // not all settled by expire: look again
  }
}
