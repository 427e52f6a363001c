import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DeadlineSlots } from "./deadlineSlots.js";

/** Operations due at given times; `expire` settles (removes) those whose deadline passed, as the publisher does. */
function harness(slotMs: number) {
  const live = new Map<string, { deadline: number; slot: number }>();
  const expired: { name: string; at: number }[] = [];
  const slots: DeadlineSlots = new DeadlineSlots(slotMs, (now) => {
    for (const [name, op] of [...live]) {
      if (op.deadline > now) continue;
      live.delete(name);
      slots.remove(op.slot);
      expired.push({ name, at: Date.now() });
    }
  });
  return {
    expired,
    add(name: string, inMs: number) {
      const deadline = Date.now() + inMs;
      live.set(name, { deadline, slot: slots.add(deadline) });
    },
    settle(name: string) {
      const op = live.get(name)!;
      live.delete(name);
      slots.remove(op.slot);
    },
  };
}

describe("DeadlineSlots", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(1_000_000);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("expires an operation no earlier than its deadline and at most one slot after it", () => {
    const h = harness(10);
    h.add("a", 25); // due at +25, slot ends at +30
    vi.advanceTimersByTime(24);
    expect(h.expired).toEqual([]);
    vi.advanceTimersByTime(6);
    expect(h.expired).toEqual([{ name: "a", at: 1_000_030 }]);
  });

  it("keeps one timer per slot, and none once every operation of the slot settled", () => {
    const h = harness(10);
    for (let i = 0; i < 1_000; i++) h.add(`op${i}`, 5_000);
    expect(vi.getTimerCount()).toBe(1);
    h.add("later", 9_000);
    expect(vi.getTimerCount()).toBe(2);
    for (let i = 0; i < 1_000; i++) h.settle(`op${i}`);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(10_000);
    expect(h.expired.map((e) => e.name)).toEqual(["later"]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("expires operations of different deadlines each in its own slot, in any order of adding", () => {
    const h = harness(10);
    h.add("late", 100);
    h.add("early", 20);
    h.add("middle", 50);
    vi.advanceTimersByTime(200);
    expect(h.expired).toEqual([
      { name: "early", at: 1_000_020 },
      { name: "middle", at: 1_000_050 },
      { name: "late", at: 1_000_100 },
    ]);
  });
});
