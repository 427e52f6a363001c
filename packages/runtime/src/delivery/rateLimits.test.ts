import { describe, expect, it } from "vitest";
import { parseCeleryRate, RateLimits } from "./rateLimits.js";

describe("RateLimits", () => {
  it("books turns 1/rate apart per task name, in arrival order; 0 lifts the limit", () => {
    const rates = new RateLimits();
    expect(rates.active).toBe(false);
    rates.set("svc.a", 4);
    expect([rates.active, rates.get("svc.a"), rates.get("svc.b")]).toEqual([true, 4, undefined]);
    expect([0, 0, 0].map(() => rates.reserve("svc.a", 1_000))).toEqual([0, 250, 500]);
    expect(rates.reserve("svc.b", 1_000)).toBe(0);
    expect(rates.reserve("svc.a", 2_000)).toBe(0); // idle long enough: runs now
    rates.set("svc.a", 0);
    expect([rates.active, rates.reserve("svc.a", 2_001)]).toEqual([false, 0]);
  });

  it("reads Celery's rate strings", () => {
    expect(parseCeleryRate("10/s")).toBe(10);
    expect(parseCeleryRate("30/m")).toBe(0.5);
    expect(parseCeleryRate("7200/h")).toBe(2);
    expect(parseCeleryRate("5")).toBe(5);
    expect(parseCeleryRate(2.5)).toBe(2.5);
    for (const off of [0, "0", "", null, undefined]) expect(parseCeleryRate(off)).toBe(0);
    for (const bad of ["fast", "1/d", "1/s/s", "/s", -1, "-2/m", {}])
      expect(() => parseCeleryRate(bad), JSON.stringify(bad)).toThrow(/is not a rate/);
  });
});
