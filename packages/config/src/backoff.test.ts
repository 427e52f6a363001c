import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { retryDelayMs } from "./backoff.js";

const policy = { maxAttempts: 5, backoffBaseMs: 1000, backoffMaxMs: 10_000, jitter: "none" as const };

describe("retryDelayMs", () => {
  it("doubles from the base and stops at the maximum", () => {
    expect([1, 2, 3, 4, 5, 6].map((attempt) => retryDelayMs(policy, attempt))).toEqual([
      1000, 2000, 4000, 8000, 10_000, 10_000,
    ]);
  });

  it("full and equal jitter stay within their ranges", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        (attempt, r) => {
          const cap = retryDelayMs(policy, attempt);
          const full = retryDelayMs({ ...policy, jitter: "full" }, attempt, () => r);
          const equal = retryDelayMs({ ...policy, jitter: "equal" }, attempt, () => r);
          expect(full).toBeGreaterThanOrEqual(0);
          expect(full).toBeLessThanOrEqual(cap);
          expect(equal).toBeGreaterThanOrEqual(cap / 2);
          expect(equal).toBeLessThanOrEqual(cap);
        },
      ),
    );
  });
});
