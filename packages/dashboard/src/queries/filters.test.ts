import { describe, expect, it } from "vitest";
import { decodeCursor, durationMs, encodeCursor, parseArgumentSearch, parseTaskFilter } from "./filters.js";

const now = Date.parse("2026-12-05T12:00:00Z");

describe("task filters", () => {
  it("read the same fields from a query string and from CLI flags", () => {
    expect(
      parseTaskFilter(
        {
          service: "export",
          task: "export.render",
          state: ["failure,retry"],
          since: "1h",
          root: " r-1 ",
          arg: "x",
        },
        now,
      ),
    ).toEqual({
      service: "export",
      task: "export.render",
      states: ["FAILURE", "RETRY"],
      since: new Date(now - 3_600_000),
      rootId: "r-1",
      arg: "x",
    });
    expect(parseTaskFilter({ service: "", state: [], since: undefined }, now)).toEqual({});
  });

  it("take durations and ISO times, and name the field of a bad one", () => {
    expect(durationMs("15m")).toBe(900_000);
    expect(durationMs("2w")).toBe(1_209_600_000);
    expect(parseTaskFilter({ until: "2026-12-01T08:00Z" }, now).until).toEqual(new Date("2026-12-01T08:00Z"));
    expect(() => parseTaskFilter({ since: "yesterday" }, now)).toThrow(/since "yesterday" is not valid/);
    expect(() => parseTaskFilter({ state: ["DONE"] }, now)).toThrow(/state "DONE"/);
  });

  it("match argument values as JSON when they parse, else as text", () => {
    expect(parseArgumentSearch("invoice-7")).toEqual({ values: ["invoice-7"] });
    expect(parseArgumentSearch("42")).toEqual({ values: [42, "42"] });
    expect(parseArgumentSearch('"42"')).toEqual({ values: ["42"] });
    expect(parseArgumentSearch("user_id=42")).toEqual({ values: [42, "42"], key: "user_id" });
    expect(parseArgumentSearch("<script>alert(1)</script>")).toEqual({
      values: ["<script>alert(1)</script>"],
    });
  });

  it("keep the cursor's microseconds and refuse a forged one", () => {
    const cursor = { at: "2026-12-05 10:29:15.304716+00", taskId: "c" };
    expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
    expect(() => decodeCursor("bm9wZQ")).toThrow(/cursor/);
  });
});
