import { describe, expect, it } from "vitest";
import { Slots } from "./slots.js";

describe("Slots", () => {
  it("grows at once (waiters wake) and shrinks as holders release, interrupting none", async () => {
    const slots = new Slots(1);
    const first = slots.tryAcquire()!;
    const waiting = [slots.acquire(), slots.acquire()];
    expect(slots.waiting).toBe(2);
    slots.resize(3);
    const [second, third] = await Promise.all(waiting);
    expect([slots.size, slots.waiting, typeof second, typeof third]).toEqual([3, 0, "function", "function"]);
    slots.resize(1);
    expect(slots.tryAcquire()).toBeUndefined();
    first();
    second!();
    expect(slots.tryAcquire()).toBeUndefined(); // one holder left: the single slot is still taken
    third!();
    const next = slots.tryAcquire();
    expect(next).toBeTypeOf("function");
    expect(slots.tryAcquire()).toBeUndefined();
    expect(() => slots.resize(0)).toThrow(RangeError);
  });

  it("a release hands the slot to the longest waiter; close refuses the rest", async () => {
    const slots = new Slots(1);
    const held = slots.tryAcquire()!;
    const order: number[] = [];
    const a = slots.acquire().then((release) => {
      order.push(1);
      return release;
    });
    const b = slots.acquire().then((release) => {
      order.push(2);
      return release;
    });
    held();
    (await a)!();
    expect(await b).toBeTypeOf("function");
    expect(order).toEqual([1, 2]);
    const c = slots.acquire();
    slots.close();
    expect(await c).toBeUndefined();
  });
});
