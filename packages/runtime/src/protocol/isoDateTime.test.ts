import { describe, expect, it } from "vitest";
import { formatIsoDateTime, parseIsoDateTime } from "./isoDateTime.js";

describe("formatIsoDateTime", () => {
  it("writes Python's aware isoformat: six-digit fraction, or none when zero", () => {
    expect(formatIsoDateTime(new Date("2026-01-15T03:03:41.415Z"))).toBe("2026-01-15T03:03:41.415000+00:00");
    expect(formatIsoDateTime(new Date("2026-01-15T03:03:41Z"))).toBe("2026-01-15T03:03:41+00:00");
    expect(formatIsoDateTime(new Date("0042-03-04T05:06:07.008Z"))).toBe("0042-03-04T05:06:07.008000+00:00");
  });
});

describe("parseIsoDateTime", () => {
  it("reads offsets, Z and naive values (naive = UTC)", () => {
    expect(parseIsoDateTime("2026-01-15T03:03:41.415080+00:00")?.toISOString()).toBe(
      "2026-01-15T03:03:41.415Z",
    );
    expect(parseIsoDateTime("2026-01-15T05:03:41+02:00")?.toISOString()).toBe("2026-01-15T03:03:41.000Z");
    expect(parseIsoDateTime("2026-01-14T22:33:41-04:30")?.toISOString()).toBe("2026-01-15T03:03:41.000Z");
    expect(parseIsoDateTime("2026-01-15T03:03:41.4Z")?.toISOString()).toBe("2026-01-15T03:03:41.400Z");
    expect(parseIsoDateTime("2026-01-15 03:03")?.toISOString()).toBe("2026-01-15T03:03:00.000Z");
  });

  it("rejects what Python's fromisoformat rejects", () => {
    for (const bad of [
      "2026-02-30T00:00:00",
      "2026-01-15",
      "2026-13-01T00:00:00",
      "2026-01-15T24:00:00",
      "yesterday",
      "2026-01-15T03:03:41+25:00",
      "",
    ]) {
      expect(parseIsoDateTime(bad), bad).toBeUndefined();
    }
  });
});
