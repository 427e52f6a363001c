import { describe, expect, it } from "vitest";
import { ByteWindow, type WindowChange } from "./byteWindow.js";

const KB = 1024;
const MB = 1024 * KB;

/**
 * Plays a broker against the window: it delivers while fewer than the consumer's prefetch are held by the
 * current consumer, the consumer settles the oldest message each step; returns the most bytes held.
 */
function drain(
  window: ByteWindow,
  sizes: number[],
): { peak: number; changes: WindowChange[]; mostHeld: number } {
  const held: number[] = [];
  const changes: WindowChange[] = [];
  let consuming = true;
  let ownHeld = 0; // held by the current consumer: what its prefetch counts
  let next = 0;
  let mostHeld = 0;
  const apply = (change: WindowChange) => {
    if (!change) return;
    changes.push(change);
    if (change === "pause") consuming = false;
    else {
      consuming = true;
      ownHeld = 0;
      window.started();
    }
  };
  window.started();
  while (next < sizes.length || held.length > 0) {
    while (consuming && next < sizes.length && ownHeld < window.prefetch) {
      held.push(sizes[next]!);
      ownHeld += 1;
      mostHeld = Math.max(mostHeld, held.length);
      apply(window.take(sizes[next++]!));
    }
    const bytes = held.shift();
    if (bytes === undefined) break;
    ownHeld = Math.max(0, ownHeld - 1);
    apply(window.release(bytes));
  }
  return { peak: window.peak, changes, mostHeld };
}

describe("ByteWindow: the prefetch by bytes", () => {
  it("starts at what the budget allows for the largest acceptable message", () => {
    expect(new ByteWindow({ maxBytes: 64 * MB, maxPrefetch: 2_000, largestMessage: MB }).prefetch).toBe(64);
    expect(new ByteWindow({ maxBytes: 64 * MB, maxPrefetch: 20, largestMessage: MB }).prefetch).toBe(20);
    expect(new ByteWindow({ maxBytes: 64 * KB, maxPrefetch: 20, largestMessage: MB }).prefetch).toBe(1);
  });

  it("grows to the configured prefetch while messages are small", () => {
    const window = new ByteWindow({ maxBytes: 64 * MB, maxPrefetch: 2_000, largestMessage: MB });
    const { peak, changes, mostHeld } = drain(window, Array(20_000).fill(300));
    expect(window.size).toBe(2_000);
    // 64 → 128 → 256 → 512 → 1,024 → 2,000, each a new consumer once 7/8 of the grown window is free.
    expect(changes.filter((c) => c === "resume")).toHaveLength(5);
    expect(mostHeld).toBe(2_000);
    expect(peak).toBeLessThanOrEqual(2_000 * 300);
  });

  it("keeps 100 KB messages under the budget, where the message count alone would hold 200 MB", () => {
    const window = new ByteWindow({ maxBytes: 8 * MB, maxPrefetch: 2_000, largestMessage: MB });
    const { peak, mostHeld } = drain(window, Array(5_000).fill(100 * KB));
    expect(peak).toBeLessThanOrEqual(8 * MB);
    expect(mostHeld).toBeGreaterThan(60);
    expect(window.held).toBe(0);
  });

  it("pauses when larger messages follow small ones, and resumes with a smaller window", () => {
    const window = new ByteWindow({ maxBytes: 4 * MB, maxPrefetch: 2_000, largestMessage: MB });
    const sizes = [...Array(20_000).fill(200), ...Array(500).fill(MB)];
    const { peak, changes, mostHeld } = drain(window, sizes);
    expect(mostHeld).toBeLessThanOrEqual(2_000);
    expect(changes).toContain("pause");
    expect(changes).toContain("resume");
    expect(window.prefetch).toBeLessThanOrEqual(4);
    // Over the budget by the message that crossed it (here the pause takes effect at once; a broker may
    // deliver up to one window more before its cancel arrives).
    expect(peak).toBeGreaterThan(4 * MB);
    expect(peak).toBeLessThanOrEqual(5 * MB + 2_000 * 200);
    expect(window.held).toBe(0);
  });

  it("keeps growing while one message is held for good (a task that runs for an hour)", () => {
    const window = new ByteWindow({ maxBytes: 64 * MB, maxPrefetch: 500, largestMessage: MB });
    window.started();
    let consuming = true;
    let own = 0; // what the current consumer's prefetch counts
    let held = 0;
    let mostHeld = 0;
    let delivered = 0;
    const apply = (change: WindowChange) => {
      if (change === "pause") consuming = false;
      if (change === "resume") {
        consuming = true;
        own = 0;
        window.started();
      }
    };
    // Message 0 is never settled; every later one is settled a step after it arrives.
    for (let step = 0; step < 5_000 && delivered < 5_000; step++) {
      const arrived: number[] = [];
      while (consuming && own < window.prefetch && delivered < 5_000) {
        own += 1;
        held += 1;
        arrived.push(delivered++);
        apply(window.take(300));
      }
      mostHeld = Math.max(mostHeld, held);
      for (const n of arrived) {
        if (n === 0) continue;
        held -= 1;
        own = Math.max(0, own - 1);
        apply(window.release(300));
      }
    }
    expect(delivered).toBe(5_000);
    expect(window.count).toBe(1);
    expect(mostHeld).toBeLessThanOrEqual(500);
  });
});
